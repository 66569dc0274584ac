"""`/core/groups/`: groups, their members, and whether they make them superusers."""

from app.auth import current_audit, current_identity, current_query, current_store
from app.concurrency import reading, writing
from app.crud import ResourceOperations
from app.permissions import check_may_view, check_superuser_flag
from models.resources import GROUPS, USERS
from models.store import Identity

# Lists a PUT empties when it does not name them (their default is an empty list).
DEFAULT_EMPTY = ("users", "parents", "roles")


def _included(_identity: Identity, group: dict) -> dict:
    """The `include_*` parameters: members are shown unless left out; children, parents
    and inherited roles only when asked for."""
    query = current_query()
    hidden = {"users_obj": query.get("include_users") is False}
    for field, parameter in (
        ("children_obj", "include_children"),
        ("parents_obj", "include_parents"),
        ("inherited_roles_obj", "include_inherited_roles"),
    ):
        hidden[field] = query.get(parameter) is not True
    return {**group, **{field: None for field, hide in hidden.items() if hide}}


_groups = ResourceOperations("core_groups", key="group_uuid", shown=_included)

core_groups_list = _groups.list
core_groups_retrieve = _groups.retrieve
core_groups_destroy = _groups.destroy
core_groups_used_by_list = _groups.used_by_list


async def core_groups_create(body):
    check_superuser_flag(current_identity(), body.get("is_superuser"), False)
    return await _groups.create(body=body)


async def _checked_update(group_uuid, body: dict, update):
    store, key = current_store(), str(group_uuid)
    stored = await reading(store, store.representation, GROUPS, key)
    check_superuser_flag(
        current_identity(), body.get("is_superuser"), stored["is_superuser"], stored["pk"]
    )
    return await update(group_uuid=group_uuid, body=body)


async def core_groups_update(group_uuid, body):
    body = {**dict.fromkeys(DEFAULT_EMPTY, []), **body}
    return await _checked_update(group_uuid, body, _groups.update)


async def core_groups_partial_update(group_uuid, body=None):
    return await _checked_update(group_uuid, body or {}, _groups.partial_update)


async def core_groups_add_user_create(group_uuid, body):
    store, identity = current_store(), current_identity()
    user = await reading(store, check_may_view, store, identity, USERS, str(body["pk"]))
    key, audit = str(group_uuid), current_audit()
    await writing(store, store.add_member, GROUPS, key, int(user), audit)
    return None, 204


async def core_groups_remove_user_create(group_uuid, body):
    store, identity = current_store(), current_identity()
    user = await reading(store, check_may_view, store, identity, USERS, str(body["pk"]))
    key, audit = str(group_uuid), current_audit()
    await writing(store, store.remove_member, GROUPS, key, int(user), audit)
    return None, 204
