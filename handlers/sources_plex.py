"""`/sources/plex/`: Plex sources, and the Plex login that redeems a token with one."""

from app.auth import (
    current_audit,
    current_identity,
    current_identity_or_none,
    current_plex,
    current_store,
    request_audit,
)
from app.crud import ResourceOperations
from app.login import redeem, redeem_authenticated
from app.permissions import without_secrets

_sources = ResourceOperations("sources_plex", key="slug", shown=without_secrets)

sources_plex_list = _sources.list
sources_plex_create = _sources.create
sources_plex_retrieve = _sources.retrieve
sources_plex_update = _sources.update
sources_plex_partial_update = _sources.partial_update
sources_plex_destroy = _sources.destroy
sources_plex_used_by_list = _sources.used_by_list


# async: plex.tv is awaited on the event loop, holding no worker thread.
async def sources_plex_redeem_token_create(body, slug=None):
    identity = current_identity_or_none()
    store, plex = current_store(), current_plex()
    audit = request_audit({}) if identity is None else current_audit()
    return await redeem(store, plex, identity, slug or "", body["plex_token"], audit), 200


async def sources_plex_redeem_token_authenticated_create(body, slug=None):
    store, plex = current_store(), current_plex()
    identity, audit = current_identity(), current_audit()
    await redeem_authenticated(store, plex, identity, slug or "", body["plex_token"], audit)
    return None, 204
