"""`/rbac/initial_permissions/`: what a role receives on the objects its holders create."""

from app.crud import ResourceOperations

_sets = ResourceOperations("rbac_initial_permissions", key="id")

rbac_initial_permissions_list = _sets.list
rbac_initial_permissions_create = _sets.create
rbac_initial_permissions_retrieve = _sets.retrieve


async def rbac_initial_permissions_update(id, body):
    """A PUT without `permissions` empties them (their default is an empty list)."""
    return await _sets.update(id=id, body={"permissions": [], **body})


rbac_initial_permissions_partial_update = _sets.partial_update
rbac_initial_permissions_destroy = _sets.destroy
rbac_initial_permissions_used_by_list = _sets.used_by_list
