"""The app factory: one Connexion app, AsyncApp by default or FlaskApp on request."""

import gc
import json
import logging
import re
from datetime import timedelta
from functools import partial
from pathlib import Path

import connexion
import orjson
import yaml
from connexion import ConnexionMiddleware
from connexion.exceptions import ProblemException
from connexion.json_schema import resolve_refs
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.options import SwaggerUIOptions
from connexion.resolver import RelativeResolver
from starlette.exceptions import HTTPException

from app import errors, framework
from app.auth import identity_in
from app.concurrency import limit_malloc_arenas
from app.config import Settings
from app.logs import configure_logging
from app.plex import PlexTV
from app.service import OperatorMiddleware
from app.throttle import RateThrottle, client_address, throttled_message
from app.validation import CompiledPath
from models.errors import StoreError
from models.store import Store

# openapi/openapi.yaml, through a link in this package so that it ships in the wheel.
SPEC_PATH = Path(__file__).resolve().parent / "openapi.yaml"
BASE_PATH = "/api/v3"
DOCS_PATH = BASE_PATH + "/ui/"

logger = logging.getLogger("app")


class RoutedRequestMiddleware:
    """Prepares a request for Connexion's checks and the handlers:
    - a URL no operation matched is a 404, so that neither flavour's own router runs a
      handler Connexion did not route (Werkzeug matches paths Starlette refuses, `%0A`);
    - the media type is lower-cased, as it is case-insensitive and Connexion's lookup of
      the body's schema is not (`APPLICATION/JSON` went unvalidated);
    - whether the path's values fit the operation's path parameters is noted, for the
      permission check to answer 404 to those that do not (after authentication);
    - the app's store and plex.tv client are handed to the security function and
      handlers."""

    def __init__(
        self, app, store: Store, plex: PlexTV, paths: dict[str, CompiledPath], trusted_proxies=0
    ):
        self.app = app
        self.store = store
        self.plex = plex
        self.paths = paths
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            extensions = scope.setdefault("extensions", {})
            operation_id = extensions.get(ROUTING_CONTEXT, {}).get("operation_id")
            if not operation_id:
                raise HTTPException(404)
            context = extensions.setdefault("connexion_context", {})
            context["store"] = self.store
            context["plex"] = self.plex
            # What an event about a write made by this request records (app/auth.py).
            context["request"] = (scope, self.trusted_proxies)
            path = self.paths.get(operation_id.rpartition(".")[2])
            context["path_fits"] = path is None or path.fits(scope.get("path_params", {}))
            scope["headers"] = _media_type_lowered(scope["headers"])
        await self.app(scope, receive, send)


class AfterSecurityMiddleware:
    """After the security checks, before the request checks, in DRF's order:
    - credentials that were presented and refused are a 403 even where the operation
      would let an anonymous caller in;
    - an anonymous call (only operations that allow one get this far without
      credentials) counts against its address's rate; past it, 429."""

    def __init__(self, app, throttle: RateThrottle, trusted_proxies: int):
        self.app = app
        self.throttle = throttle
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            context = scope.get("extensions", {}).get("connexion_context", {})
            if context.get("credentials_rejected"):
                raise errors.detail(403, errors.TOKEN_INVALID)
            if identity_in(context) is None:
                wait = self.throttle.wait(client_address(scope, self.trusted_proxies))
                if wait is not None:
                    message, seconds = throttled_message(wait)
                    raise errors.detail(429, message, {"Retry-After": str(seconds)})
        await self.app(scope, receive, send)


def _media_type_lowered(headers: list) -> list:
    """The headers with each Content-Type's media type lower-cased (a copy where any
    changes)."""
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"content-type":
            media_type, separator, parameters = value.partition(b";")
            lowered = media_type.strip().lower() + separator + parameters
            if lowered != value:
                headers = [*headers[:index], (name, lowered), *headers[index + 1 :]]
    return headers


class AllowedMethods:
    """The methods the spec declares for a URL path, for 405's Allow header (Connexion
    3.3 names only those of the first route it tried)."""

    def __init__(self, spec: dict):
        self.routes = []
        # Fixed paths first: `/core/users/me/` is not a `/core/users/{id}/`.
        for template, item in sorted(spec["paths"].items(), key=lambda p: p[0].count("{")):
            pattern = re.sub(r"\\{[^}/]+\\}", "[^/]+", re.escape(template))
            methods = [m.upper() for m in item if m in ("get", "put", "post", "delete", "patch")]
            self.routes.append((re.compile(BASE_PATH + pattern), methods))

    def __call__(self, path: str) -> list[str]:
        return next((methods for regex, methods in self.routes if regex.fullmatch(path)), [])


def _render(error: errors.APIError) -> ConnexionResponse:
    try:
        body = orjson.dumps(error.body)
    except TypeError:
        # A message that quotes a lone surrogate back: orjson refuses it, the standard
        # library escapes it (`\\ud800`), as DRF's renderer would.
        body = json.dumps(error.body, separators=(",", ":")).encode()
    return ConnexionResponse(
        status_code=error.status,
        body=body,
        content_type="application/json",
        headers=error.headers,
    )


def _error_handlers(allowed_methods: AllowedMethods):
    def on_api_error(request: ConnexionRequest, exc: errors.APIError) -> ConnexionResponse:
        return _render(exc)

    def on_store_error(request: ConnexionRequest, exc: StoreError) -> ConnexionResponse:
        return _render(errors.from_store(exc))

    def on_problem(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
        if exc.status == 401:
            # authentik never sends 401: missing or unusable credentials are a 403.
            return _render(errors.detail(403, errors.NOT_AUTHENTICATED))
        if exc.status == 415:
            media_type = request.headers.get("content-type", "")
            return _render(
                errors.detail(415, errors.UNSUPPORTED_MEDIA_TYPE.format(media_type=media_type))
            )
        if exc.status >= 500:
            logger.error("%s: %s", exc.title, exc.detail)
            return _render(errors.detail(exc.status, errors.SERVER_ERROR))
        return _render(errors.detail(exc.status, str(exc.detail or exc.title)))

    def on_http_exception(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        if exc.status_code == 404:
            return _render(errors.detail(404, errors.NOT_FOUND))
        if exc.status_code == 405:
            allow = ", ".join(allowed_methods(request.url.path))
            message = errors.METHOD_NOT_ALLOWED.format(method=request.method)
            return _render(errors.detail(405, message, {"Allow": allow}))
        return _render(errors.detail(exc.status_code, str(exc.detail)))

    def on_crash(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        logger.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _render(errors.detail(500, errors.SERVER_ERROR))

    return {
        errors.APIError: on_api_error,
        StoreError: on_store_error,
        ProblemException: on_problem,
        HTTPException: on_http_exception,
        Exception: on_crash,
    }


def create_app(
    settings: Settings | None = None,
    *,
    validate_responses: bool = False,
    spec_path: Path = SPEC_PATH,
    served: bool = False,
) -> ConnexionMiddleware:
    """Build the app from the spec at `spec_path`. `validate_responses` checks every
    answer against the spec (tests). `served`: run by the server for the process's
    life, on one event loop (connections to plex.tv are then kept alive)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    store = Store(
        settings.database_url, event_retention=timedelta(days=settings.event_retention_days)
    )
    if settings.bootstrap_token:
        store.ensure_bootstrap_token(settings.bootstrap_token)

    plex = PlexTV(
        settings.plex_api_url,
        settings.plex_timeout,
        settings.plex_concurrency,
        pooled=served and settings.app_flavour == "async",
    )
    spec = yaml.safe_load(spec_path.read_text())
    paths = {
        operation["operationId"]: CompiledPath(
            [*item.get("parameters", []), *operation.get("parameters", [])]
        )
        for item in resolve_refs(spec)["paths"].values()
        for method, operation in item.items()
        if method != "parameters"
    }
    app_class = connexion.FlaskApp if settings.app_flavour == "flask" else framework.AsyncApp
    app = app_class(
        __name__,
        jsonifier=framework.OrjsonJsonifier(),
        security_map=framework.SECURITY_MAP,
        uri_parser_class=framework.OnceURIParser,
        middlewares=framework.middleware_stack(
            validate_responses,
            outermost=[partial(OperatorMiddleware, store=store, spec=spec, docs_path=DOCS_PATH)],
            before_security=partial(
                RoutedRequestMiddleware,
                store=store,
                plex=plex,
                paths=paths,
                trusted_proxies=settings.trusted_proxies,
            ),  # fmt: skip
            after_security=partial(
                AfterSecurityMiddleware,
                throttle=RateThrottle(settings.throttle_anon),
                trusted_proxies=settings.trusted_proxies,
            ),
        ),
    )
    app.store, app.plex = store, plex
    for exception, handler in _error_handlers(AllowedMethods(spec)).items():
        app.add_error_handler(exception, handler)
    app.add_api(
        spec,
        resolver=RelativeResolver("handlers"),
        validator_map=framework.validator_map(),
        validate_responses=validate_responses,
        swagger_ui_options=SwaggerUIOptions(
            swagger_ui_path="/ui", swagger_ui_config={"persistAuthorization": True}
        ),
    )
    return app


def create_served_app() -> ConnexionMiddleware:
    """The app as `plex-api serve` runs it, with its start-up heap frozen."""
    limit_malloc_arenas()  # before the worker threads start
    settings = Settings.from_env()
    app = create_app(settings, served=True)
    base = f"http://{settings.host}:{settings.port}{BASE_PATH}"
    logger.info(
        "Serving the API at %s/ (its browser at %s/ui/, the schema at %s/schema/); "
        "every call needs an API token: Authorization: Bearer <key>", base, base, base,
    )  # fmt: skip
    if not settings.bootstrap_token and not app.store.has_users():
        logger.warning(
            "No user exists and BOOTSTRAP_TOKEN is not set: no call can be authenticated. "
            "Set BOOTSTRAP_TOKEN, or create a user and a token with plex-admin."
        )
    freeze_start_up_heap()
    return app


def freeze_start_up_heap() -> None:
    """Moves every object alive after start-up (the spec, Connexion's operations, the
    modules) out of the collector's reach. Its full passes otherwise walk all of them
    every few hundred lists and stall every request in flight meanwhile; they now walk
    what requests left behind (docs/performance.md has the measurements)."""
    gc.collect()
    gc.freeze()
