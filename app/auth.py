"""Bearer-token authentication, as authentik's TokenAuthentication answers it."""

from connexion import context

from app import errors


def bearer_info(token: str, request) -> dict:
    """Connexion's x-bearerInfoFunc: the token's user, or 403 `Token invalid/expired`."""
    identity = request.context["store"].identity_for_token(token.strip())
    if identity is None:
        raise errors.detail(403, errors.TOKEN_INVALID)
    return {"sub": identity.username, "identity": identity}


def current_store():
    """The store of the app serving this request."""
    return context.context["store"]
