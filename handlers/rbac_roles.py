"""`/rbac/roles/`: roles, which hold permissions, and the users holding them."""

from app import errors
from app.auth import current_identity, current_store
from app.concurrency import reading, writing
from app.crud import ResourceOperations
from app.permissions import check_may_view
from models.resources import ROLES, USERS

_roles = ResourceOperations("rbac_roles", key="uuid")

rbac_roles_list = _roles.list
rbac_roles_create = _roles.create
rbac_roles_retrieve = _roles.retrieve
rbac_roles_update = _roles.update
rbac_roles_partial_update = _roles.partial_update
rbac_roles_destroy = _roles.destroy
rbac_roles_used_by_list = _roles.used_by_list


async def _visible_user(body: dict) -> int:
    """The body's user, if the caller may view it; authentik's bare 404 otherwise."""
    store, identity = current_store(), current_identity()
    found = await reading(
        store, check_may_view, store, identity, USERS, str(body["pk"]), errors.NOT_FOUND
    )
    return int(found)


async def rbac_roles_add_user_create(uuid, body):
    store = current_store()
    await writing(store, store.add_member, ROLES, str(uuid), await _visible_user(body))
    return None, 204


async def rbac_roles_remove_user_create(uuid, body):
    store = current_store()
    await writing(store, store.remove_member, ROLES, str(uuid), await _visible_user(body))
    return None, 204
