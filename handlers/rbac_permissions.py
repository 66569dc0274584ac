"""`/rbac/permissions/`: the permission catalogue, and the roles holding permissions of
a model or an object (`assigned_by_roles`), given and taken there."""

from app import errors
from app.auth import current_query, current_store
from app.concurrency import reading, writing
from app.crud import ResourceOperations
from app.pagination import Paginator
from models.resources import PERMISSIONS, PERMISSIONS_BY_ID, permission_api
from models.store import search_terms

# Catalogue fields a list may order by, and the query filters on them.
_ORDERING = ("id", "name", "codename", "model", "app_label")
_FILTERS = {
    "codename": "codename",
    "content_type__app_label": "app_label",
    "content_type__model": "model",
}


def _ordered(permissions: list[dict], ordering: str | None) -> list[dict]:
    """DRF's OrderingFilter over the catalogue: known fields only, `name` by default."""
    terms = [t.strip() for t in (ordering or "").split(",")]
    terms = [t for t in terms if t.removeprefix("-") in _ORDERING] or ["name"]
    for term in reversed(terms):  # a stable sort per field, the last first
        field = term.removeprefix("-")
        permissions.sort(key=lambda p: (p[field], p["id"]), reverse=term.startswith("-"))
    return permissions


async def rbac_permissions_list():
    query = current_query()
    permissions = [permission_api(p) for p in PERMISSIONS]
    for parameter, field in _FILTERS.items():
        if query.get(parameter) not in (None, ""):
            permissions = [p for p in permissions if p[field] == query[parameter]]
    if query.get("role") not in (None, ""):
        store = current_store()
        held = await reading(store, store.global_codenames_of, query["role"])
        permissions = [p for p in permissions if f"{p['app_label']}.{p['codename']}" in held]
    for term in search_terms(query.get("search")):
        term = term.casefold()
        permissions = [
            p for p in permissions
            if any(term in p[f].casefold() for f in ("name", "codename", "model", "app_label"))
        ]  # fmt: skip
    permissions = _ordered(permissions, query.get("ordering"))
    paginator = Paginator(query.get("page"), query.get("page_size"))
    offset, limit = paginator.window(len(permissions))
    return paginator.envelope(permissions[offset : offset + limit]), 200


async def rbac_permissions_retrieve(id):
    permission = PERMISSIONS_BY_ID.get(id)
    if permission is None:
        raise errors.detail(404, "No Permission matches the given query.")
    return permission_api(permission), 200


_assigned = ResourceOperations("rbac_permissions_assigned_by_roles", key="uuid")

rbac_permissions_assigned_by_roles_list = _assigned.list


async def rbac_permissions_assigned_by_roles_assign(uuid, body):
    store = current_store()
    ids = await writing(
        store, store.assign_permissions, str(uuid),
        body.get("permissions"), body.get("model"), body.get("object_pk"),
    )  # fmt: skip
    return [{"id": str(pk)} for pk in ids], 200


async def rbac_permissions_assigned_by_roles_unassign_partial_update(uuid, body=None):
    store = current_store()
    body = body or {}
    await writing(
        store, store.unassign_permissions, str(uuid),
        body.get("permissions"), body.get("model"), body.get("object_pk"),
    )  # fmt: skip
    return None, 204
