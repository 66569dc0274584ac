"""The operations every resource of the API has, once: list, create, retrieve, update,
partial update, destroy and used_by, each mapped onto the store. A handler module names
its resource's operationIds after these (`handlers/`), with the operationId prefix that
`app/permissions.py` maps to the resource."""

import inspect
from collections.abc import Callable

from app.auth import (
    current_audit,
    current_found,
    current_identity,
    current_object,
    current_query,
    current_store,
)
from app.concurrency import reading, writing
from app.pagination import Paginator
from app.permissions import OPERATION_RESOURCES, check_may_list, viewable_used_by
from models.store import Identity, StoredObject

# Query parameters every list has; the others are the resource's filters.
LIST_PARAMETERS = ("page", "page_size", "ordering", "search")


def _as_stored(_identity: Identity, representation: dict) -> dict:
    return representation


class ResourceOperations:
    """The handlers of one resource, whose URLs name an object by `key`. `shown` turns a
    stored representation into what the caller may see of it. Each handler declares
    the arguments Connexion is to pass it (the key, the body), as Connexion reads them
    from its signature."""

    def __init__(
        self, prefix: str, key: str, shown: Callable[[Identity, dict], dict] = _as_stored
    ) -> None:
        self.resource = OPERATION_RESOURCES[prefix]
        self.shown = shown
        self.list = _taking(self._list)
        self.create = _taking(self._create, "body")
        self.retrieve = _taking(self._retrieve, key)
        self.update = _taking(self._update, key, "body")
        # Validation replays an absent PATCH body as `{}`.
        self.partial_update = _taking(self._update, key, optional=("body",))
        self.destroy = _taking(self._destroy, key)
        self.used_by_list = _taking(self._used_by_list, key)

    async def _list(self):
        store, search = current_store(), current_query().get("search")
        scans = bool(search) and not store.short_scan(self.resource, search)
        return await reading(store, self._page, scans=scans), 200

    def _page(self) -> dict:
        query = current_query()
        paginator = Paginator(query.get("page"), query.get("page_size"))
        identity, store = current_identity(), current_store()
        check_may_list(store, identity, self.resource)
        _count, results = store.list_page(
            self.resource,
            filters={name: value for name, value in query.items() if name not in LIST_PARAMETERS},
            search=query.get("search"),
            ordering=query.get("ordering"),
            window=paginator.window,
            viewer=identity,
        )
        if self.shown is not _as_stored:  # it asks for the caller's permissions on each
            identity = store.with_grants_on(identity, [str(r["pk"]) for r in results])
        return paginator.envelope([self.shown(identity, r) for r in results])

    async def _create(self, body):
        store = current_store()
        created = await writing(store, store.create, self.resource, body, current_audit())
        return self.shown(current_identity(), created), 201

    async def _retrieve(self, **_key):
        # async: it reads only what the permission check found, so needs no worker thread.
        return self.shown(current_identity(), current_object()), 200

    async def _update(self, body=None, **key):
        store = current_store()
        audit = current_audit()
        stored = await writing(store, store.update, self.resource, _key_of(key), body, audit)
        return self.shown(current_identity(), stored), 200

    async def _destroy(self, **key):
        store = current_store()
        await writing(store, store.delete, self.resource, _key_of(key), current_audit())
        return None, 204

    async def _used_by_list(self, **_key):
        return await reading(current_store(), self._used_by, current_found()), 200

    def _used_by(self, found: StoredObject) -> list[dict]:
        store = current_store()
        entries = store.used_by(self.resource, found)
        return viewable_used_by(store, current_identity(), entries)


def _key_of(path: dict) -> str:
    (key,) = path.values()
    return str(key)


def _taking(method, *names: str, optional: tuple[str, ...] = ()):
    """`method`, declaring that it takes exactly `names` (and `optional`) by keyword."""
    if inspect.iscoroutinefunction(method):

        async def handler(**arguments):
            return await method(**arguments)
    else:

        def handler(**arguments):
            return method(**arguments)

    keyword = inspect.Parameter.KEYWORD_ONLY
    handler.__signature__ = inspect.Signature(
        [inspect.Parameter(name, keyword) for name in names]
        + [inspect.Parameter(name, keyword, default=None) for name in optional]
    )
    return handler
