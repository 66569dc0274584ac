"""The ceiling: the Plex source operations `make bench` runs (create, retrieve, list,
partial update, delete, used_by) on bare Starlette with orjson,
without Connexion, doing what the API does through the same functions: the same store,
token check, permission check, query and body validation, and answers. What the API
could reach if the framework cost nothing."""

from datetime import timedelta

import orjson
import yaml
from connexion.json_schema import resolve_refs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import errors
from app.auth import audit_of, authenticate, user_of
from app.concurrency import limit_malloc_arenas, reading, writing
from app.config import Settings
from app.main import SPEC_PATH, freeze_start_up_heap
from app.pagination import Paginator
from app.permissions import check_may_list, viewable_used_by, without_secrets
from app.validation import CompiledQuery, compiled_body, parse_json
from models.errors import StoreError
from models.events import Audit
from models.resources import SOURCES
from models.store import Store

SOURCES_PATH = "/sources/plex/"


def _json(body, status: int) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def create_app() -> Starlette:
    limit_malloc_arenas()  # as the API's server does
    settings = Settings.from_env()
    retention = timedelta(days=settings.event_retention_days)
    store = Store(settings.database_url, event_retention=retention)
    if settings.bootstrap_token:
        store.ensure_bootstrap_token(settings.bootstrap_token)
    spec = resolve_refs(yaml.safe_load(SPEC_PATH.read_text()))
    body_schema = compiled_body(spec["components"]["schemas"]["PlexSourceRequest"])
    patch_schema = compiled_body(spec["components"]["schemas"]["PatchedPlexSourceRequest"])
    list_query = CompiledQuery(spec["paths"][SOURCES_PATH]["get"]["parameters"])

    def audit(request: Request, identity) -> Audit:
        """What the event of a write records, as the API builds it."""
        return audit_of(request.scope, settings.trusted_proxies, user_of(identity))

    async def caller(request: Request, operation_id: str):
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        found = None
        if scheme.lower() == "bearer":
            path = request.path_params
            found = await reading(store, authenticate, store, key, operation_id, path)
        if found is None:
            raise errors.detail(403, errors.TOKEN_INVALID)
        return found

    async def cleaned(request: Request, schema) -> dict:
        """The request's body, checked and cleaned as the API's validator does it."""
        raw = await request.body()
        fields, problems = schema.clean(parse_json(raw) if raw.strip() else {})
        if problems:
            raise errors.invalid(problems)
        return fields

    async def create(request: Request) -> Response:
        identity, _ = await caller(request, "sources_plex_create")
        fields = await cleaned(request, body_schema)
        source = await writing(store, store.create, SOURCES, fields, audit(request, identity))
        return _json(without_secrets(identity, source), 201)

    async def listing(request: Request) -> Response:
        identity, _ = await caller(request, "sources_plex_list")
        _values, problems = list_query.check(request.scope.get("query_string", b""))
        if problems:
            raise errors.invalid(problems)
        query = request.query_params
        paginator = Paginator(int(query.get("page", 1)), int(query.get("page_size", 20)))

        def page():
            check_may_list(store, identity, SOURCES)
            _count, results = store.list_page(
                SOURCES,
                filters={},
                search=query.get("search"),
                ordering=query.get("ordering"),
                window=paginator.window,
                viewer=identity,
            )
            shown = store.with_grants_on(identity, [r["pk"] for r in results])
            return paginator.envelope([without_secrets(shown, r) for r in results])

        search = query.get("search")
        scans = bool(search) and not store.short_scan(SOURCES, search)  # as the API decides
        return _json(await reading(store, page, scans=scans), 200)

    async def retrieve(request: Request) -> Response:
        identity, found = await caller(request, "sources_plex_retrieve")
        return _json(without_secrets(identity, found.representation), 200)

    async def partial_update(request: Request) -> Response:
        identity, _ = await caller(request, "sources_plex_partial_update")
        fields = await cleaned(request, patch_schema)
        slug = request.path_params["slug"]
        source = await writing(store, store.update, SOURCES, slug, fields, audit(request, identity))
        return _json(without_secrets(identity, source), 200)

    async def destroy(request: Request) -> Response:
        identity, _ = await caller(request, "sources_plex_destroy")
        slug, recorded = request.path_params["slug"], audit(request, identity)
        await writing(store, store.delete, SOURCES, slug, recorded)
        return Response(status_code=204)

    async def used_by(request: Request) -> Response:
        identity, found = await caller(request, "sources_plex_used_by_list")

        def entries():
            return viewable_used_by(store, identity, store.used_by(SOURCES, found))

        return _json(await reading(store, entries), 200)

    async def sources(request: Request) -> Response:
        return await (create(request) if request.method == "POST" else listing(request))

    async def source(request: Request) -> Response:
        methods = {"GET": retrieve, "PATCH": partial_update, "DELETE": destroy}
        return await methods[request.method](request)

    async def on_api_error(request: Request, error: errors.APIError) -> Response:
        return _json(error.body, error.status)

    async def on_store_error(request: Request, error: StoreError) -> Response:
        return await on_api_error(request, errors.from_store(error))

    app = Starlette(
        routes=[
            Route("/api/v3" + SOURCES_PATH, sources, methods=["GET", "POST"]),
            Route("/api/v3" + SOURCES_PATH + "{slug}/", source, methods=["GET", "PATCH", "DELETE"]),
            Route("/api/v3" + SOURCES_PATH + "{slug}/used_by/", used_by, methods=["GET"]),
        ],
        exception_handlers={errors.APIError: on_api_error, StoreError: on_store_error},
    )
    freeze_start_up_heap()  # as the API's server does
    return app
