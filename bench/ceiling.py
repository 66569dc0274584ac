"""The ceiling: the same store, the same body checks and the same answers as the API for
create, retrieve and list, on bare Starlette with orjson, without Connexion. What the
API could reach if the framework cost nothing."""

import orjson
import yaml
from connexion.json_schema import resolve_refs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.config import Settings
from app.errors import APIError
from app.main import SPEC_PATH
from app.pagination import Paginator
from app.permissions import visible, without_secrets
from app.validation import _compile
from models.resources import SOURCES
from models.store import Store


def _json(body, status: int) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def create_app() -> Starlette:
    settings = Settings.from_env()
    store = Store(settings.database_url)
    if settings.bootstrap_token:
        store.ensure_bootstrap_token(settings.bootstrap_token)
    spec = resolve_refs(yaml.safe_load(SPEC_PATH.read_text()))
    body_schema = _compile(spec["components"]["schemas"]["PlexSourceRequest"])

    def caller(request: Request):
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        identity = store.identity_for_token(key) if scheme.lower() == "bearer" else None
        if identity is None:
            raise APIError(403, {"detail": "Token invalid/expired"})
        return identity

    def create(request: Request, raw: bytes) -> Response:
        identity = caller(request)
        body = orjson.loads(raw) if raw else {}
        problems = body_schema.errors(body)
        if problems:
            return _json(problems, 400)
        fields = {k: v for k, v in body.items() if k in body_schema.fields}
        return _json(without_secrets(identity, store.create(SOURCES, fields)), 201)

    def listing(request: Request) -> Response:
        identity = caller(request)
        query = request.query_params
        paginator = Paginator(int(query.get("page", 1)), int(query.get("page_size", 20)))
        _count, results = store.list_page(
            SOURCES,
            filters={},
            search=query.get("search"),
            ordering=query.get("ordering"),
            window=paginator.window,
            visible=visible(identity, SOURCES),
        )
        return _json(paginator.envelope([without_secrets(identity, r) for r in results]), 200)

    def retrieve(request: Request) -> Response:
        identity = caller(request)
        source = store.get(SOURCES, request.path_params["slug"])
        return _json(without_secrets(identity, source), 200)

    # Sync handlers run in Starlette's threadpool, as Connexion runs ours.
    from starlette.concurrency import run_in_threadpool

    async def sources(request: Request) -> Response:
        try:
            if request.method == "POST":
                return await run_in_threadpool(create, request, await request.body())
            return await run_in_threadpool(listing, request)
        except APIError as error:
            return _json(error.body, error.status)

    async def source(request: Request) -> Response:
        try:
            return await run_in_threadpool(retrieve, request)
        except APIError as error:
            return _json(error.body, error.status)

    return Starlette(
        routes=[
            Route("/api/v3/sources/plex/", sources, methods=["GET", "POST"]),
            Route("/api/v3/sources/plex/{slug}/", source, methods=["GET"]),
        ]
    )
