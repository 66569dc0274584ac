"""Connexion 3.3 with its per-request set-up done once per operation, and the app's
middleware stack and JSON serialiser.

Connexion builds each operation's chain of handler decorators on every request: it reads
the handler's signature, wraps the handler three times, makes a URI parser from the
operation's parameters and sorts them into path and query ones; its URI parser rebuilds
the parameters' schemas for each query parameter; its request checks make a parameter
validator and look up the body's schema and validator; its bearer check reads the token
function's signature twice; its Swagger UI layer routes every request before the routing
layer does it again; its request objects are made through the context's proxies and a
failed `hasattr`. None of that depends on the request. These subclasses, plugged in
where Connexion takes them (the app's API class, its middleware stack, `security_map`,
`uri_parser_class`), do it once and keep it. What each request does with its own
parameters, headers and body still goes through Connexion's functions, or, for the
usual cases (a plain string path parameter, a checked JSON body, an object answered as
JSON), gives what they would give.

Where a method repeats Connexion's own code instead of calling it, `make profile` showed
that code's cost on every request (docs/performance.md has the runs); one line each:
- OnceParameterDecorator.__call__: Connexion's `prep_kwargs`, which re-read the
  handler's signature and re-sorted the parameters per request;
- OnceResponseDecorator.build_framework_response: the common (body, status) answer,
  which Connexion sent through its generic inference;
- OnceDecorator.__call__ / OnceSecurityOperation.__call__: request objects made without
  the context proxies and the failed `hasattr` in ConnexionRequest.__init__;
- OnceRequestValidationOperation.extract_content_type: Connexion's, less a typing
  construct rebuilt per call;
- BearerHandler: the bearer check as one function instead of three nested wrappers
  reading the token function's signature twice.
"""

import asyncio
import functools
import json
import logging
from copy import deepcopy

import connexion
import orjson
from connexion import utils
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import context, operation
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import (
    CONTEXT_NAME,
    AsyncParameterDecorator,
    _get_body_argument,
    _get_file_arguments,
    _get_query_defaults,
    _get_val_from_param,
    _query_args_helper,
    unwrap_decorators,
)
from connexion.decorators.response import AsyncResponseDecorator
from connexion.exceptions import OAuthProblem, OAuthResponseProblem
from connexion.http_facts import FORM_CONTENT_TYPES
from connexion.jsonifier import Jsonifier
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.security import SecurityAPI, SecurityMiddleware, SecurityOperation
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.security import NO_VALUE, SECURITY_HANDLERS, BearerSecurityHandler
from connexion.uri_parsing import OpenAPIURIParser
from connexion.utils import deep_merge, inspect_function_arguments
from starlette.datastructures import Headers
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse

from app.concurrency import in_worker_thread
from app.framework.validators import VALIDATED_BODY

logger = logging.getLogger(__name__)


class OnceParameterDecorator(AsyncParameterDecorator):
    """Connexion's handler arguments (`prep_kwargs`, `get_arguments`), with what depends
    only on the operation worked out once: which parameters are path and query ones,
    their defaults, whether a body or form files can be passed at all. Parameter names
    are cleaned up once per name, not with three regular expressions per name and
    request (bounded: clients name query parameters too). Each request's own values go
    through Connexion's functions, so they are typed as before."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sanitize_fn = functools.lru_cache(maxsize=256)(self.sanitize_fn)

    def __call__(self, function):
        # Called on the operation's first request, where `operation` is that operation.
        spec = operation._get_current_object()
        arguments, has_kwargs = inspect_function_arguments(unwrap_decorators(function))
        sanitize = self.sanitize_fn
        path_definitions = {p["name"]: p for p in spec.parameters if p["in"] == "path"}
        query_definitions = {p["name"]: p for p in spec.parameters if p["in"] == "query"}
        query_defaults = _get_query_defaults(query_definitions)
        wants_arguments = bool(arguments) or has_kwargs
        takes_body = (
            wants_arguments
            and spec.is_request_body_defined
            and spec.method.upper() != "TRACE"  # RFC 7231: a TRACE request has no body
        )
        takes_files = takes_body and any(c in FORM_CONTENT_TYPES for c in spec.consumes)
        json_body_name = sanitize(spec.body_name("application/json")) if takes_body else None
        # Connexion's typing hands a plain string over as the router matched it.
        typed_path = not all(map(_is_plain_string, path_definitions.values()))

        @functools.wraps(function)
        async def wrapper(request):
            kwargs = {}
            if typed_path:
                for name, value in request.path_params.items():
                    definition = path_definitions.get(name)
                    kwargs[sanitize(name)] = (
                        value if definition is None else _get_val_from_param(value, definition)
                    )
            else:
                for name, value in request.scope.get("path_params", {}).items():
                    kwargs[sanitize(name)] = value
            if query_definitions:  # Connexion passes only declared query parameters
                query = request.query_params
                if query_defaults:
                    query = deep_merge(deepcopy(query_defaults), query)
                kwargs.update(
                    _query_args_helper(query_definitions, query, arguments, has_kwargs, sanitize)
                )
            request_context = request.context  # the dict behind Connexion's `context`
            validated = request_context.get(VALIDATED_BODY) if takes_body else None
            if validated is not None:
                # A JSON object, checked already: what Connexion would pass for it.
                if json_body_name in arguments or has_kwargs:
                    kwargs[json_body_name] = validated
            elif takes_body:
                content_type = request.mimetype
                body = None
                if sanitize(spec.body_name(content_type)) in arguments or has_kwargs:
                    body = await request.get_body()
                kwargs.update(
                    _get_body_argument(body, operation=spec, arguments=arguments,
                                       has_kwargs=has_kwargs, sanitize=sanitize,
                                       content_type=content_type)
                )  # fmt: skip
                if takes_files:
                    files = _get_file_arguments(
                        await request.files(), arguments, spec.body_schema(content_type),
                        has_kwargs,
                    )  # fmt: skip
                    kwargs.update(files)
            # Context values (e.g. token_info, from the security check) for arguments so named.
            for key, value in request_context.items():
                if has_kwargs or key in arguments:
                    kwargs[key] = value
            if CONTEXT_NAME in arguments:
                kwargs[CONTEXT_NAME] = context
            return await function(**kwargs)

        return wrapper


def _is_plain_string(definition: dict) -> bool:
    """A parameter whose value Connexion passes on unchanged: a string that is neither
    nullable nor a file."""
    schema = definition.get("schema", definition)
    return (
        schema.get("type") == "string"
        and schema.get("format") != "binary"
        and not utils.is_nullable(schema)
    )


class OnceURIParser(OpenAPIURIParser):
    """Connexion's URI parser, with the parameters' schemas (fixed when it is made)
    collected once: its own property rebuilds them all for each query parameter."""

    @functools.cached_property
    def param_schemas(self):
        return super().param_schemas


class OnceResponseDecorator(AsyncResponseDecorator):
    """Connexion's answer building, with the operation's media types read once. Where
    the handler names no Content-Type and the operation declares one media type, that
    is the answer's, as in Connexion's own inference."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Built on the operation's first request, where `operation` is that operation.
        produces = set(operation.produces)
        self._only_media_type = produces.pop() if len(produces) == 1 else None
        self._only_json = bool(self._only_media_type) and utils.is_json_mimetype(
            utils.split_content_type(self._only_media_type)[0]
        )

    def build_framework_response(self, handler_response):
        # The usual answer, (object or list, status) for the operation's one JSON media
        # type, as Connexion builds it: serialised, Content-Type then Content-Length.
        if (
            self._only_json
            and type(handler_response) is tuple
            and len(handler_response) == 2
            and type(handler_response[1]) is int
            and isinstance(handler_response[0], dict | list)
        ):
            data, status = handler_response
            return StarletteResponse(
                self.jsonifier.dumps(data),
                status_code=status,
                media_type=self._only_media_type,
                headers={"Content-Type": self._only_media_type},
            )
        return super().build_framework_response(handler_response)

    def _infer_content_type(self, data, headers):
        if self._only_media_type and not headers:
            return self._only_media_type
        return super()._infer_content_type(data, headers)


class OnceDecorator(StarletteDecorator):
    """Connexion's decorator for one operation, with its chain built on first use."""

    _parameter_decorator_cls = OnceParameterDecorator
    _response_decorator_cls = OnceResponseDecorator

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._decorated: dict = {}
        self._uri_parser = None

    @property
    def _sync_async_decorator(self):
        # As Connexion's: an async handler is awaited, a sync one runs in a worker
        # thread. Connexion's wrapper asks which it is on every request; this, once.
        def decorator(function):
            if asyncio.iscoroutinefunction(function):
                return function

            @functools.wraps(function)
            async def threaded(*args, **kwargs):
                return await in_worker_thread(function, *args, **kwargs)

            return threaded

        return decorator

    def __call__(self, function):
        # Connexion's wrapper reads scope and receive through the context's proxies and
        # makes its request object the slow way (a failed `hasattr` in its __init__);
        # this one is handed them by OnceOperation.
        @functools.wraps(function)
        async def wrapper(scope, receive):
            request = ConnexionRequest.from_starlette_request(
                StarletteRequest(scope, receive), uri_parser=self.uri_parser
            )
            return await self.decorate(function)(request)

        return wrapper

    def decorate(self, function):
        decorated = self._decorated.get(function)
        if decorated is None:
            decorated = self._decorated[function] = super().decorate(function)
        return decorated

    @property
    def uri_parser(self):
        # One decorator serves one operation, so one parser serves all its requests.
        if self._uri_parser is None:
            parser_class = self.uri_parser_class or operation.uri_parser_class
            self._uri_parser = parser_class(operation.parameters, operation.body_definition())
        return self._uri_parser


class OnceOperation(AsyncOperation):
    @functools.cached_property
    def fn(self):
        decorator = OnceDecorator(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        return decorator(self._fn)

    async def __call__(self, scope, receive, send):
        response = await self.fn(scope, receive)
        return await response(scope, receive, send)


class OnceApi(AsyncApi):
    def make_operation(self, spec_operation) -> OnceOperation:
        return OnceOperation.from_operation(
            spec_operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


class AsyncApp(connexion.AsyncApp):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._middleware_app.api_cls = OnceApi  # read by add_api, which comes later


class DocsMiddleware(SwaggerUIMiddleware):
    """Connexion's Swagger UI and spec routes. A request for any other path goes straight
    on, instead of through a router of its own that finds nothing (Connexion routes it
    again in the next layer)."""

    _prefixes: tuple[str, ...] | None = None

    async def __call__(self, scope, receive, send):
        if self._prefixes is None:  # the APIs are added after the middleware is built
            self._prefixes = tuple(
                mount.path + route.path for mount in self.router.routes for route in mount.routes
            )
        # Anywhere in the path, so that a root_path in front still reaches the router.
        if scope["type"] == "http" and not any(p in scope["path"] for p in self._prefixes):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class OnceRequestValidationOperation(RequestValidationOperation):
    """Connexion's request checks for one operation, in Connexion's order: parameters,
    media type, body. The parameter validator, and per media type the body's schema and
    validator class, are looked up once instead of on every request; accepted media
    types are remembered (bounded: clients name them). The body validator itself is
    made per request, as it keeps the request's encoding."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._parameter_validator = None
        self._accepted_media_types: set[str] = set()
        self._body_checks: dict[str, tuple | None] = {}

    def extract_content_type(self, headers):
        # Connexion's, less a typing construct it builds on every call (half of this
        # layer's time on a retrieve).
        content_type = next(
            (v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), None
        )
        mime_type, encoding = utils.split_content_type(content_type)
        if mime_type is None:  # no Content-Type: Connexion assumes the first declared
            consumes = self._operation.consumes
            mime_type = consumes[0] if consumes else "application/octet-stream"
        return mime_type, encoding or "utf-8"

    def validate_mime_type(self, mime_type):
        if mime_type not in self._accepted_media_types:
            super().validate_mime_type(mime_type)
            if len(self._accepted_media_types) < 64:
                self._accepted_media_types.add(mime_type)

    def _body_check(self, mime_type):
        """(validator class, its arguments but the encoding) for bodies of this media
        type, or None where the operation declares no body or Connexion has no validator."""
        if mime_type in self._body_checks:
            return self._body_checks[mime_type]
        spec = self._operation
        check = None
        schema = spec.body_schema(mime_type)
        validator_cls = self._validator_map["body"].get(mime_type) if schema else None
        if validator_cls is not None:
            arguments = {
                "schema": schema,
                "required": spec.request_body.get("required", False),
                "nullable": utils.is_nullable(spec.body_definition(mime_type)),
                "strict_validation": self.strict_validation,
                "uri_parser": spec.uri_parser_class(spec.parameters, spec.body_definition()),
            }
            check = (validator_cls, arguments)
        elif schema:
            logger.info("Skipping validation. No validator registered for %s.", mime_type)
        if len(self._body_checks) < 64:
            self._body_checks[mime_type] = check
        return check

    async def __call__(self, scope, receive, send):
        if self._parameter_validator is None:
            spec = self._operation
            self._parameter_validator = self._validator_map["parameter"](
                spec.parameters,
                uri_parser=spec._uri_parser_class(spec.parameters, spec.body_definition()),
                strict_validation=self.strict_validation,
                security_query_params=self.security_query_params,
            )
        self._parameter_validator.validate(scope)
        mime_type, encoding = self.extract_content_type(scope["headers"])
        self.validate_mime_type(mime_type)
        check = self._body_check(mime_type)
        if check is not None:
            validator_cls, arguments = check
            validator = validator_cls(encoding=encoding, **arguments)
            receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)


class OnceRequestValidationAPI(RequestValidationAPI):
    def make_operation(self, operation) -> OnceRequestValidationOperation:
        return OnceRequestValidationOperation(
            self.next_app,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )


class OnceRequestValidationMiddleware(RequestValidationMiddleware):
    api_cls = OnceRequestValidationAPI


class OnceSecurityOperation(SecurityOperation):
    """Connexion's security check for one operation, with its request object made
    without the failed `hasattr` of ConnexionRequest's own __init__."""

    async def __call__(self, scope, receive, send):
        if not self.security:
            await self.next_app(scope, receive, send)
            return
        request = ConnexionRequest.from_starlette_request(StarletteRequest(scope))
        await self.verification_fn(request)
        await self.next_app(scope, receive, send)


class OnceSecurityAPI(SecurityAPI):
    def make_operation(self, operation) -> OnceSecurityOperation:
        return OnceSecurityOperation.from_operation(
            operation,
            next_app=self.next_app,
            security_handler_factory=self.security_handler_factory,
        )


class OnceSecurityMiddleware(SecurityMiddleware):
    api_cls = OnceSecurityAPI


class BearerHandler(BearerSecurityHandler):
    """Connexion's bearer check as one function. Its own is three nested wrappers, which
    read the token function's signature twice on every request."""

    def _get_verify_func(self, token_info_func):
        # The keyword arguments the token function takes, as Connexion passes them.
        takes_request = self._accepts_kwarg(token_info_func, self.request_kw)
        takes_scopes = self._accepts_kwarg(token_info_func, self.required_scopes_kw)
        scopes = {self.required_scopes_kw: None} if takes_scopes else {}  # none for bearer

        async def verify(request):
            auth_type, token = self.get_auth_header_value(request)
            if auth_type != "bearer":
                return NO_VALUE
            arguments = {**scopes, self.request_kw: request} if takes_request else scopes
            token_info = token_info_func(token, **arguments)
            while asyncio.iscoroutine(token_info):
                token_info = await token_info
            if token_info is None:
                raise OAuthResponseProblem(detail="Provided token is not valid")
            return token_info

        return verify

    @staticmethod
    def get_auth_header_value(request):
        # Connexion's, reading the scope's headers directly rather than through the
        # request object's proxy and its own Headers.
        authorization = Headers(raw=request.scope["headers"]).get("authorization")
        if not authorization:
            return None, None
        try:
            auth_type, value = authorization.split(maxsplit=1)
        except ValueError:
            raise OAuthProblem(detail="Invalid authorization header") from None
        return auth_type.lower(), value


_REPLACED = {
    SecurityMiddleware: OnceSecurityMiddleware,
    SwaggerUIMiddleware: DocsMiddleware,
    RequestValidationMiddleware: OnceRequestValidationMiddleware,
}
MIDDLEWARES = [_REPLACED.get(m, m) for m in connexion.ConnexionMiddleware.default_middlewares]
"""Connexion's middleware stack, with three of its layers replaced by the ones above."""

SECURITY_MAP = {**SECURITY_HANDLERS, "bearer": BearerHandler}


def middleware_stack(
    validate_responses: bool, outermost: list, before_security, after_security
) -> list:
    """Connexion's stack (MIDDLEWARES) with layers of ours: `outermost` (in order) before
    all of Connexion's, `before_security` on the routed request before the security
    checks, `after_security` after them and before the request checks.
    Layers that would only pass each request on are left out: the response checks when
    answers are not checked, and the lifespan layer, as the app has no lifespan
    handler."""
    idle = {LifespanMiddleware} | (set() if validate_responses else {ResponseValidationMiddleware})
    stack = [middleware for middleware in MIDDLEWARES if middleware not in idle]
    security = stack.index(OnceSecurityMiddleware)
    stack.insert(security + 1, after_security)
    stack.insert(security, before_security)
    return [*outermost, *stack]


class OrjsonJsonifier(Jsonifier):
    """Compact JSON, as authentik's orjson renderer writes it, from either flavour.
    Bodies are read back with the standard library, which keeps what orjson refuses
    (lone surrogates) for the validators to reject with a message."""

    def __init__(self):
        super().__init__(json)

    def dumps(self, data, **kwargs):
        return orjson.dumps(data)

    def loads(self, data):
        return json.loads(data)
