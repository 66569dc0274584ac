"""`/propertymappings/source/plex/`: Plex source property mappings."""

from app.auth import current_identity, current_object, current_store
from app.pagination import paginated_list
from app.permissions import viewable_used_by
from models.resources import PLEX_MAPPINGS, managed_filter


def propertymappings_source_plex_list(
    page=None,
    page_size=None,
    ordering=None,
    search=None,
    managed=None,
    managed__isnull=None,
    name=None,
):
    return paginated_list(
        PLEX_MAPPINGS,
        page=page,
        page_size=page_size,
        ordering=ordering,
        search=search,
        filters={"name": name},
        clauses=managed_filter(managed, managed__isnull),
    )


def propertymappings_source_plex_create(body):
    return current_store().create(PLEX_MAPPINGS, body), 201


# async: it reads only what the permission check found, so needs no worker thread.
async def propertymappings_source_plex_retrieve(pm_uuid):
    return current_object(), 200


def propertymappings_source_plex_update(pm_uuid, body):
    return current_store().update(PLEX_MAPPINGS, pm_uuid, body), 200


def propertymappings_source_plex_partial_update(pm_uuid, body=None):
    return current_store().update(PLEX_MAPPINGS, pm_uuid, body), 200


def propertymappings_source_plex_destroy(pm_uuid):
    current_store().delete(PLEX_MAPPINGS, pm_uuid)
    return None, 204


def propertymappings_source_plex_used_by_list(pm_uuid):
    entries = current_store().used_by(PLEX_MAPPINGS, pm_uuid)
    return viewable_used_by(current_identity(), entries), 200
