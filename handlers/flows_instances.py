"""`/flows/instances/`: flows."""

from app.auth import current_identity, current_object, current_store
from app.pagination import paginated_list
from app.permissions import viewable_used_by
from models.resources import FLOWS


def flows_instances_list(
    page=None,
    page_size=None,
    ordering=None,
    search=None,
    denied_action=None,
    designation=None,
    flow_uuid=None,
    name=None,
    slug=None,
):
    filters = {
        "denied_action": denied_action,
        "designation": designation,
        "flow_uuid": flow_uuid,
        "name": name,
        "slug": slug,
    }
    return paginated_list(
        FLOWS, page=page, page_size=page_size, ordering=ordering, search=search, filters=filters
    )


def flows_instances_create(body):
    return current_store().create(FLOWS, body), 201


# async: it reads only what the permission check found, so needs no worker thread.
async def flows_instances_retrieve(slug):
    return current_object(), 200


def flows_instances_update(slug, body):
    return current_store().update(FLOWS, slug, body), 200


def flows_instances_partial_update(slug, body=None):
    return current_store().update(FLOWS, slug, body), 200


def flows_instances_destroy(slug):
    current_store().delete(FLOWS, slug)
    return None, 204


def flows_instances_used_by_list(slug):
    entries = current_store().used_by(FLOWS, slug)
    return viewable_used_by(current_identity(), entries), 200
