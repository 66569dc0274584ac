"""Who may do what: authentik's object permissions (docs/behaviour.md §4), applied per operation.

Authorization runs with authentication, before the body is read, as in DRF: an unknown
or invisible object is a 404 and a missing permission a 403 whatever the body says.
"""

import functools

from app import errors
from models.resources import (
    ASSIGNED_BY_ROLES,
    CONNECTIONS,
    EVENTS,
    FLOWS,
    GROUPS,
    INITIAL_PERMISSIONS,
    PLEX_MAPPINGS,
    ROLES,
    SOURCES,
    TOKENS,
    USED_BY_MODELS,
    USERS,
    Resource,
)
from models.store import Identity, Store, StoredObject

# operationId prefix -> the resource its operations serve (handlers/ are named so too)
OPERATION_RESOURCES = {
    "sources_plex": SOURCES,
    "flows_instances": FLOWS,
    "propertymappings_source_plex": PLEX_MAPPINGS,
    "sources_user_connections_plex": CONNECTIONS,
    "core_users": USERS,
    "core_tokens": TOKENS,
    "core_groups": GROUPS,
    "rbac_roles": ROLES,
    "rbac_permissions_assigned_by_roles": ASSIGNED_BY_ROLES,
    "rbac_initial_permissions": INITIAL_PERMISSIONS,
    "events_events": EVENTS,
}
# Operations any authenticated caller may run, as in authentik: the permission catalogue
# (its `role` filter included) and the list of event actions.
AUTHENTICATED_ONLY = {
    "rbac_permissions_list",
    "rbac_permissions_retrieve",
    "events_events_actions_list",
}
# What an operation on one object needs beyond seeing it (`view`, global or on it): an
# action of the resource's model, or a whole codename.
OBJECT_ACTIONS = {
    "retrieve": None,
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
    "set_key_create": "authentik_core.set_token_key",
    "view_key_retrieve": "authentik_core.view_token_key",
    # Groups' and roles' members are changed with different permissions.
    "add_user_create": {
        "authentik_core.group": "authentik_core.add_user_to_group",
        "authentik_rbac.role": "authentik_rbac.change_role",
    },
    "remove_user_create": {
        "authentik_core.group": "authentik_core.remove_user_from_group",
        "authentik_rbac.role": "authentik_rbac.change_role",
    },
    "assign": "authentik_rbac.assign_role_permissions",
    "unassign_partial_update": "authentik_rbac.unassign_role_permissions",
}
# Actions whose permission an owner needs as much as anyone (authentik grants it to nobody
# by owning: a token's key is set by those trusted to).
NOT_BY_OWNING = {"set_key_create"}


# `rbac_permissions_assigned_by_roles` is tried before any shorter prefix of it.
_LONGEST_PREFIX_FIRST = sorted(OPERATION_RESOURCES.items(), key=lambda item: -len(item[0]))


@functools.cache  # one entry per operation of the spec: only routed ones get here
def operation_resource(operation_id: str) -> tuple[Resource | None, str]:
    """The resource and action of an operation (Connexion names it `handlers.<id>`);
    no resource for those any authenticated caller may run."""
    operation_id = operation_id.rpartition(".")[2]
    if operation_id in AUTHENTICATED_ONLY:
        return None, operation_id
    for prefix, resource in _LONGEST_PREFIX_FIRST:
        if operation_id.startswith(prefix + "_"):
            return resource, operation_id.removeprefix(prefix + "_")
    # Every secured operation must say what it needs: never let one through unchecked.
    raise LookupError(f"no permission rule for operation {operation_id!r}")


def authorize(
    store: Store, identity: Identity, operation_id: str, path: dict, path_fits: bool = True
) -> tuple[Identity, StoredObject | None]:
    """Raise the 403 or 404 authentik gives before the operation may run; return the
    caller with its permissions on the object the operation is on, and that object, if
    it is on one, so that neither is looked up twice. A path value its parameter's
    schema refuses (`path_fits` false) names nothing."""
    resource, action = operation_resource(operation_id)
    if resource is None:
        return identity, None
    if action == "create" and not resource.self_service:
        check_may_add(identity, resource)
    if action in OBJECT_ACTIONS or action == "used_by_list":
        key = next(iter(path.values()))
        # Retrieve answers with what is found here; the others need only pk and owner.
        found = store.find(resource, key, represent=action == "retrieve") if path_fits else None
        if found is None:
            raise errors.detail(404, resource.not_found)
        pk, owner = found.pk, found.owner
        identity = store.with_grants_on(identity, [pk])
        # Owners may do anything with what they own (authentik's owner_field).
        owns = owner is not None and owner == identity.user_id
        # used_by is not filtered by view permission; its entries are (see below).
        if (
            action != "used_by_list"
            and not owns
            and not identity.has_perm(resource.codename("view"), pk)
        ):
            raise errors.detail(404, resource.not_found)
        needed = OBJECT_ACTIONS.get(action)
        if isinstance(needed, dict):
            needed = needed[resource.permission_model]
        if needed is not None and "." not in needed:
            needed = resource.codename(needed)
        exempt = owns and action not in NOT_BY_OWNING
        if needed is not None and not exempt and not identity.has_perm(needed, pk):
            raise errors.detail(403, errors.PERMISSION_DENIED)
        return identity, found
    return identity, None


def may_add(identity: Identity, resource: Resource) -> bool:
    """Whether the caller holds the global `add` permission (an object-level one does not
    count); for a `self_service` resource, whether it may make objects for others."""
    return identity.has_perm(resource.codename("add"))


def check_may_add(identity: Identity, resource: Resource) -> None:
    if not may_add(identity, resource):
        raise errors.detail(403, errors.PERMISSION_DENIED)


def check_may_view(
    store: Store, identity: Identity, resource: Resource, key: str, not_found: str | None = None
) -> str:
    """The primary key of the object the key names, if the caller may view it; a 404
    otherwise, as for an object that does not exist (the resource's, or `not_found`)."""
    found = store.find(resource, key)
    if found is not None:
        identity = store.with_grants_on(identity, [found.pk])
        if identity.has_perm(resource.codename("view"), found.pk):
            return found.pk
    raise errors.detail(404, not_found or resource.not_found)


def check_superuser_flag(identity: Identity, wanted: bool | None, current: bool, pk=None):
    """Making a group's members superusers, or no longer, needs its own permission
    (global, or on the group `pk`), as in authentik; a 400 on the field without it."""
    if wanted is None or wanted == current:
        return
    action = "enable" if wanted else "disable"
    if not identity.has_perm(f"authentik_core.{action}_group_superuser", pk):
        message = f"User does not have permission to set superuser status to {wanted}."
        raise errors.invalid({"is_superuser": [message]})


def check_may_list(store: Store, identity: Identity, resource: Resource) -> None:
    """A 403 when the caller may see nothing at all: no view permission, neither global
    nor on any object (a resource with owners always shows their own). The list itself
    is filtered by the store."""
    view = resource.codename("view")
    if identity.covers(view) or resource.owner is not None:
        return
    if not store.holds_object_grant(identity, view):
        raise errors.detail(403, errors.PERMISSION_DENIED)


def viewable_used_by(store: Store, identity: Identity, entries: list[dict]) -> list[dict]:
    """The used_by entries the caller may view."""
    identity = store.with_grants_on(identity, [entry["pk"] for entry in entries])
    return [
        entry
        for entry in entries
        if identity.has_perm(USED_BY_MODELS[entry["model_name"]].codename("view"), entry["pk"])
    ]


def without_secrets(identity: Identity, source: dict) -> dict:
    """A Plex source as the caller may see it: `plex_token` only for those who may
    change the source (docs/behaviour.md §4)."""
    if identity.has_perm(SOURCES.codename("change"), source["pk"]):
        return source
    return {key: value for key, value in source.items() if key != "plex_token"}
