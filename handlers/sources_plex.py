"""`/sources/plex/`: Plex sources."""

from app.auth import (
    current_identity,
    current_identity_or_none,
    current_object,
    current_settings,
    current_store,
)
from app.login import redeem, redeem_authenticated
from app.pagination import paginated_list
from app.permissions import viewable_used_by, without_secrets
from models.resources import SOURCES


def sources_plex_list(
    page=None,
    page_size=None,
    ordering=None,
    search=None,
    allow_friends=None,
    authentication_flow=None,
    client_id=None,
    enabled=None,
    enrollment_flow=None,
    group_matching_mode=None,
    name=None,
    pbm_uuid=None,
    policy_engine_mode=None,
    slug=None,
    user_matching_mode=None,
):
    filters = {
        "allow_friends": allow_friends,
        "authentication_flow": authentication_flow,
        "client_id": client_id,
        "enabled": enabled,
        "enrollment_flow": enrollment_flow,
        "group_matching_mode": group_matching_mode,
        "name": name,
        "pbm_uuid": pbm_uuid,
        "policy_engine_mode": policy_engine_mode,
        "slug": slug,
        "user_matching_mode": user_matching_mode,
    }
    body, status = paginated_list(
        SOURCES, page=page, page_size=page_size, ordering=ordering, search=search, filters=filters
    )
    identity = current_identity()
    body["results"] = [without_secrets(identity, source) for source in body["results"]]
    return body, status


def sources_plex_create(body):
    return without_secrets(current_identity(), current_store().create(SOURCES, body)), 201


# async: it reads only what the permission check found, so needs no worker thread.
async def sources_plex_retrieve(slug):
    return without_secrets(current_identity(), current_object()), 200


def sources_plex_update(slug, body):
    return without_secrets(current_identity(), current_store().update(SOURCES, slug, body)), 200


def sources_plex_partial_update(slug, body=None):
    # Validation replays an absent PATCH body as `{}`.
    return without_secrets(current_identity(), current_store().update(SOURCES, slug, body)), 200


def sources_plex_destroy(slug):
    current_store().delete(SOURCES, slug)
    return None, 204


def sources_plex_used_by_list(slug):
    return viewable_used_by(current_identity(), current_store().used_by(SOURCES, slug)), 200


def sources_plex_redeem_token_create(body, slug=None):
    identity = current_identity_or_none()
    challenge = redeem(
        current_store(), current_settings(), identity, slug or "", body["plex_token"]
    )
    return challenge, 200


def sources_plex_redeem_token_authenticated_create(body, slug=None):
    store, settings = current_store(), current_settings()
    redeem_authenticated(store, settings, current_identity(), slug or "", body["plex_token"])
    return None, 204
