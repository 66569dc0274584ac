"""Bearer-token authentication, as authentik's TokenAuthentication answers it, followed
by the operation's permission checks."""

from urllib.parse import parse_qsl

from connexion import context
from connexion.middleware.abstract import ROUTING_CONTEXT

from app import errors
from app.concurrency import reading
from app.framework import VALIDATED_QUERY
from app.permissions import authorize
from app.plex import PlexTV
from app.throttle import client_address
from models.events import Audit
from models.store import Identity, Store, StoredObject


async def bearer_info(token: str, request) -> dict:
    """Connexion's x-bearerInfoFunc: the token's user, or 403 `Token invalid/expired`;
    then 403/404 if that user may not run the operation on its object."""
    scope = request.scope
    operation_id = scope["extensions"][ROUTING_CONTEXT]["operation_id"]
    path = scope.get("path_params", {})
    context = request.context
    store = context["store"]
    found = await reading(
        store, authenticate, store, token, operation_id, path, context["path_fits"]
    )
    if found is None:
        # Remembered for operations that also allow anonymous callers: a bad key is a
        # 403 there too, as authentik authenticates before it looks at AllowAny.
        request.context["credentials_rejected"] = True
        raise errors.detail(403, errors.TOKEN_INVALID)
    identity, obj = found
    return {"sub": identity.username, "identity": identity, "object": obj}


def authenticate(
    store: Store, key: str, operation_id: str, path: dict, path_fits: bool = True
) -> tuple[Identity, StoredObject | None] | None:
    """The key's user (with its permissions on the object the operation is on) and that
    object (None for an unknown key); the 403 or 404 when the user may not run the
    operation."""
    identity = store.identity_for_token(key)
    if identity is None:
        return None
    return authorize(store, identity, operation_id, path, path_fits)


def current_store() -> Store:
    """The store of the app serving this request."""
    return context.context["store"]


def current_identity() -> Identity:
    """Who is calling (set by bearer_info)."""
    return context.context["token_info"]["identity"]


def current_found() -> StoredObject:
    """The object the operation is on, as the permission check found it (operations on
    one object)."""
    return context.context["token_info"]["object"]


def current_object() -> dict:
    """The representation of the object the operation is on, as the permission check
    read it (retrieve operations, the only ones it reads it for)."""
    return current_found().representation


def current_plex() -> PlexTV:
    """plex.tv, as the app serving this request reaches it."""
    return context.context["plex"]


def current_identity_or_none() -> Identity | None:
    """The caller, or None for an anonymous request where the operation allows one."""
    return identity_in(context.context)


def identity_in(request_context: dict) -> Identity | None:
    """The caller the security check found, from a request's Connexion context."""
    token_info = request_context.get("token_info")
    return token_info.get("identity") if isinstance(token_info, dict) else None


def current_audit() -> Audit:
    """Who is writing, from where, by which request: what the event about the write
    records (models/events.py cleanses it)."""
    return request_audit(user_of(current_identity()))


def user_of(identity: Identity) -> dict:
    """Who acted, as an event names it."""
    return {"pk": identity.user_id, "username": identity.username, "email": identity.email}


def request_audit(user: dict) -> Audit:
    """The request's part of an event, for `user` ({} where the store finds who it is)."""
    scope, trusted_proxies = context.context["request"]
    return audit_of(scope, trusted_proxies, user)


def audit_of(scope: dict, trusted_proxies: int, user: dict) -> Audit:
    """An ASGI request's part of an event: address, path, method, query, user agent."""
    headers = dict(scope["headers"])
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return Audit(
        user=user,
        client_ip=client_address(scope, trusted_proxies),
        http_request={
            "args": dict(query),
            "path": scope["path"],
            "method": scope["method"],
            "user_agent": headers.get(b"user-agent", b"").decode("latin-1"),
        },
    )


def current_query() -> dict:
    """The query parameters the operation declares, as given, checked and typed."""
    return context.context.get(VALIDATED_QUERY, {})
