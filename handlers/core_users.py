"""`/core/users/`: users, and the caller's own account at `me`."""

from app.auth import current_identity, current_query, current_store
from app.concurrency import reading
from app.crud import ResourceOperations
from models.identity import user_self_api
from models.resources import USERS
from models.store import Identity


def _included(_identity: Identity, user: dict) -> dict:
    """`include_groups` / `include_roles` false leave out the group and role objects."""
    query = current_query()
    hidden = {
        field: None
        for field, parameter in (("groups_obj", "include_groups"), ("roles_obj", "include_roles"))
        if query.get(parameter) is False
    }
    return {**user, **hidden} if hidden else user


_users = ResourceOperations("core_users", key="id", shown=_included)

core_users_list = _users.list
core_users_create = _users.create
core_users_retrieve = _users.retrieve


async def core_users_update(id, body):
    """A PUT without `groups` or `roles` empties them (they default to empty lists, as
    in authentik); a PATCH leaves what it does not name."""
    return await _users.update(id=id, body={"groups": [], "roles": [], **body})


core_users_partial_update = _users.partial_update
core_users_destroy = _users.destroy
core_users_used_by_list = _users.used_by_list


async def core_users_me_retrieve():
    store, identity = current_store(), current_identity()
    user = await reading(store, store.representation, USERS, str(identity.user_id))
    me = user_self_api(user)
    # `original` is only for impersonation, which this server does not do.
    return {"user": me, "users": [me]}, 200
