"""Plex login (docs/behaviour.md §7): from a Plex token to a
decision, with plex.tv asked what it knows and the store remembering the outcome."""

from app import errors
from app.plex import PlexAPI, PlexRejected, PlexUnavailable, friends_allowed, servers_allowed
from models.store import Identity, Store

ACCESS_DENIED = "Access denied."
TOKEN_REJECTED = "plex.tv did not accept this Plex token."
SETTINGS_PAGE = "/if/user/#/settings;page-sources"


def _checked_account(store: Store, settings, slug: str, plex_token: str):
    """The source and the Plex account behind the token, once the account has passed the
    server and friends checks."""
    source = store.login_source(slug)
    user_api = PlexAPI(settings.plex_api_url, source.client_id, plex_token, settings.plex_timeout)
    try:
        info, identifier = user_api.user_info()
        friends = source.allow_friends and friends_allowed(
            PlexAPI(
                settings.plex_api_url, source.client_id, source.plex_token, settings.plex_timeout
            ),
            identifier,
        )
        servers = servers_allowed(user_api.resources(), source.allowed_servers)
    except PlexRejected:
        raise errors.invalid({"plex_token": [TOKEN_REJECTED]}) from None
    except PlexUnavailable as error:
        raise errors.detail(502, str(error)) from None
    if not (friends or servers):
        raise errors.detail(403, ACCESS_DENIED)
    return source, info, str(identifier)


def redeem(store: Store, settings, identity: Identity | None, slug: str, plex_token: str) -> dict:
    """`redeem_token`: link the account to the caller, or start its login or enrolment."""
    source, info, identifier = _checked_account(store, settings, slug, plex_token)
    if identity is not None:
        store.link_plex_account(identity.user_id, source.pk, identifier, plex_token)
        return {"component": "xak-flow-redirect", "to": SETTINGS_PAGE}
    flow_slug, pending = store.begin_login(source.pk, identifier, info, plex_token)
    return {"component": "xak-flow-redirect", "to": f"/if/flow/{flow_slug}/?plex_login={pending}"}


def redeem_authenticated(
    store: Store, settings, identity: Identity, slug: str, plex_token: str
) -> None:
    """`redeem_token_authenticated`: connect the account to the caller (again: update)."""
    source, _info, identifier = _checked_account(store, settings, slug, plex_token)
    store.link_plex_account(identity.user_id, source.pk, identifier, plex_token)
