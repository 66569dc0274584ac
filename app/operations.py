"""Connexion 3.3's AsyncApp with its per-request set-up done once per operation.

Connexion builds each operation's chain of handler decorators on every request: it reads
the handler's signature, wraps the handler three times and makes a URI parser from the
operation's parameters; its bearer check reads the token function's signature twice per
request. None of that depends on the request. These subclasses, plugged in where
Connexion takes them (the API class of the app, `security_map`), build it once and keep
it. What each request does with its own parameters is untouched.
"""

import functools

import connexion
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import operation
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import AsyncParameterDecorator
from connexion.security import SECURITY_HANDLERS, BearerSecurityHandler


class OnceParameterDecorator(AsyncParameterDecorator):
    """Connexion's handler arguments, with parameter names cleaned up once per name, not
    with three regular expressions per name and request. Bounded: clients name query
    parameters too."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sanitize_fn = functools.lru_cache(maxsize=256)(self.sanitize_fn)


class OnceDecorator(StarletteDecorator):
    """Connexion's decorator for one operation, with its chain built on first use."""

    _parameter_decorator_cls = OnceParameterDecorator

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._decorated: dict = {}
        self._uri_parser = None

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


class OnceApi(AsyncApi):
    def make_operation(self, spec_operation) -> OnceOperation:
        return OnceOperation.from_operation(
            spec_operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


class AsyncApp(connexion.AsyncApp):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._middleware_app.api_cls = OnceApi  # read by add_api, which comes later


class BearerHandler(BearerSecurityHandler):
    @staticmethod
    @functools.cache
    def _accepts_kwarg(func, keyword: str) -> bool:
        return BearerSecurityHandler._accepts_kwarg(func, keyword)


SECURITY_MAP = {**SECURITY_HANDLERS, "bearer": BearerHandler}
