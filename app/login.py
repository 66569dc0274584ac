"""Plex login (docs/behaviour.md §7): from a Plex token to a decision, with plex.tv
asked what it knows and the store remembering the outcome. Asynchronous: plex.tv is
awaited on the event loop, the store is called in a worker thread."""

from app import errors
from app.concurrency import in_worker_thread
from app.plex import (
    PlexBusy,
    PlexRejected,
    PlexTV,
    PlexUnavailable,
    friends_allowed,
    servers_allowed,
)
from app.service import record_plex_outcome
from models.events import Audit
from models.logins import LoginSource
from models.store import Identity, Store

ACCESS_DENIED = "Access denied."
TOKEN_REJECTED = "plex.tv did not accept this Plex token."
PLEX_BUSY = "Too many Plex logins are in progress. Try again shortly."
SETTINGS_PAGE = "/if/user/#/settings;page-sources"


async def _checked_account(
    store: Store, plex: PlexTV, slug: str, plex_token: str
) -> tuple[LoginSource, dict, str]:
    """The source and the Plex account behind the token, once the account has passed the
    server and friends checks."""
    source = await in_worker_thread(store.login_source, slug)
    try:
        async with plex.session() as api:
            user_api = api(source.client_id, plex_token)
            info, identifier = await user_api.user_info()
            friends = source.allow_friends and await friends_allowed(
                api(source.client_id, source.plex_token), identifier
            )
            servers = servers_allowed(await user_api.resources(), source.allowed_servers)
    except PlexRejected:
        record_plex_outcome("rejected")
        raise errors.invalid({"plex_token": [TOKEN_REJECTED]}) from None
    except PlexUnavailable as error:
        record_plex_outcome("unavailable")
        raise errors.detail(502, str(error)) from None
    except PlexBusy:
        record_plex_outcome("busy")
        raise errors.detail(503, PLEX_BUSY, {"Retry-After": "1"}) from None
    if not (friends or servers):
        record_plex_outcome("denied")
        raise errors.detail(403, ACCESS_DENIED)
    record_plex_outcome("allowed")
    return source, info, str(identifier)


async def redeem(
    store: Store,
    plex: PlexTV,
    identity: Identity | None,
    slug: str,
    plex_token: str,
    audit: Audit | None = None,
) -> dict:
    """`redeem_token`: link the account to the caller, or start its login or enrolment.
    `audit`: the request, for the `source_linked` and `login` events."""
    source, info, identifier = await _checked_account(store, plex, slug, plex_token)
    if identity is not None:
        await in_worker_thread(
            store.link_plex_account, identity.user_id, source.pk, identifier, plex_token, audit
        )
        return {"component": "xak-flow-redirect", "to": SETTINGS_PAGE}
    flow_slug, pending = await in_worker_thread(
        store.begin_login, source.pk, identifier, info, plex_token, audit
    )
    return {"component": "xak-flow-redirect", "to": f"/if/flow/{flow_slug}/?plex_login={pending}"}


async def redeem_authenticated(
    store: Store,
    plex: PlexTV,
    identity: Identity,
    slug: str,
    plex_token: str,
    audit: Audit | None = None,
) -> None:
    """`redeem_token_authenticated`: connect the account to the caller (again: update)."""
    source, _info, identifier = await _checked_account(store, plex, slug, plex_token)
    await in_worker_thread(
        store.link_plex_account, identity.user_id, source.pk, identifier, plex_token, audit
    )
