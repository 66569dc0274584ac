"""`/sources/plex/`: Plex sources."""

from app.auth import current_store
from app.pagination import paginated_list
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
    return paginated_list(
        SOURCES, page=page, page_size=page_size, ordering=ordering, search=search, filters=filters
    )


def sources_plex_create(body):
    return current_store().create(SOURCES, body), 201


def sources_plex_retrieve(slug):
    return current_store().get(SOURCES, slug), 200


def sources_plex_update(slug, body):
    return current_store().update(SOURCES, slug, body), 200


def sources_plex_partial_update(slug, body=None):
    # Validation replays an absent PATCH body as `{}`.
    return current_store().update(SOURCES, slug, body), 200


def sources_plex_destroy(slug):
    current_store().delete(SOURCES, slug)
    return None, 204


def sources_plex_used_by_list(slug):
    return current_store().used_by(SOURCES, slug), 200
