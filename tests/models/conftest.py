"""The store on its own, without the web layer: a real database of each kind, emptied
for each test."""

import pytest

from models.store import Store
from tests.helpers import empty_database


@pytest.fixture
def store(database_url):
    store = Store(database_url)
    empty_database(store)
    yield store
    store.close()
