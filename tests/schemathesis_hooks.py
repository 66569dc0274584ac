"""schemathesis hooks for runs as the bootstrap superuser (tests/contract.py).

The API lets a superuser delete or deactivate any user, itself included, and delete or
re-key any token, its own included; the fuzzer does all of that. Before each call the
superuser's credentials are checked through the store and restored where the run took
them away, as a restart with BOOTSTRAP_TOKEN would, so that the run goes on testing
everything else instead of answering 403."""

import os

import schemathesis

from models.store import Store

DATABASE_URL = os.environ["FUZZ_DATABASE_URL"]
KEY = os.environ["FUZZ_BOOTSTRAP_TOKEN"]
_stores: list[Store] = []


def _store() -> Store:
    if not _stores:
        _stores.append(Store(DATABASE_URL))
    return _stores[0]


@schemathesis.auth(refresh_interval=None)
class BootstrapSuperuser:
    def get(self, case, context):
        store = _store()
        identity = store.identity_for_token(KEY)
        if identity is None or not identity.is_superuser:
            store.ensure_bootstrap_token(KEY)
        return KEY

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
