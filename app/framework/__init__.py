"""Connexion, extended: the one place that subclasses Connexion's classes or uses names
Connexion (or jsonschema) keeps private.

Written against Connexion 3.3.x: those internals changed between 3.1, 3.2 and 3.3, so
pyproject.toml bounds Connexion to that series and this package refuses to load with
any other. `PRIVATE_NAMES` lists every private name the package relies on; a test
checks that each still exists in the installed Connexion.
"""

from importlib.metadata import version

SUPPORTED_SERIES = "3.3"


class UnsupportedConnexion(SystemExit):
    """The installed Connexion is not the series this package was written against."""


def check_connexion_version(installed: str) -> None:
    if installed.split(".")[:2] != SUPPORTED_SERIES.split("."):
        raise UnsupportedConnexion(
            f"connexion {installed} is installed; this server supports "
            f">={SUPPORTED_SERIES},<{_next_minor(SUPPORTED_SERIES)} only"
        )


def _next_minor(series: str) -> str:
    major, minor = series.split(".")
    return f"{major}.{int(minor) + 1}"


check_connexion_version(version("connexion"))

# (module, attribute path) for every private name used in this package.
PRIVATE_NAMES = (
    ("connexion.decorators.parameter", "_get_body_argument"),
    ("connexion.decorators.parameter", "_get_file_arguments"),
    ("connexion.decorators.parameter", "_get_query_defaults"),
    ("connexion.decorators.parameter", "_get_val_from_param"),
    ("connexion.decorators.parameter", "_query_args_helper"),
    ("connexion.decorators.main", "BaseDecorator._parameter_decorator_cls"),
    ("connexion.decorators.main", "BaseDecorator._response_decorator_cls"),
    ("connexion.decorators.main", "BaseDecorator._sync_async_decorator"),
    ("connexion.decorators.response", "AsyncResponseDecorator._infer_content_type"),
    ("connexion.operations", "AbstractOperation._uri_parser_class"),
    ("connexion.apps.asynchronous", "AsyncApp._middleware_app"),
    ("connexion.apps.asynchronous", "AsyncOperation._fn"),
    ("connexion.middleware.request_validation", "RequestValidationOperation._operation"),
    ("connexion.middleware.request_validation", "RequestValidationOperation._validator_map"),
    ("connexion.security", "AbstractSecurityHandler._accepts_kwarg"),
    ("connexion.validators.abstract", "AbstractRequestBodyValidator._insert_messages"),
    ("connexion.validators.abstract", "AbstractRequestBodyValidator._schema"),
    ("connexion.validators.abstract", "AbstractResponseBodyValidator._scope"),
    ("werkzeug.local", "LocalProxy._get_current_object"),
)

from app.framework.operations import (  # noqa: E402  (after the version check)
    SECURITY_MAP,
    AsyncApp,
    OnceURIParser,
    OrjsonJsonifier,
    middleware_stack,
)
from app.framework.validators import (  # noqa: E402
    VALIDATED_BODY,
    VALIDATED_QUERY,
    validator_map,
)

__all__ = [
    "SECURITY_MAP",
    "VALIDATED_BODY",
    "VALIDATED_QUERY",
    "AsyncApp",
    "OnceURIParser",
    "OrjsonJsonifier",
    "UnsupportedConnexion",
    "check_connexion_version",
    "middleware_stack",
    "validator_map",
]
