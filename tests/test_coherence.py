"""Coherence across processes: two servers on one PostgreSQL database refuse, on the very
next request, in every process, a revoked API token, a revoked object grant and a
deactivated user. Whatever a process keeps between requests (caches for speed), none may
let a revoked key, grant or deactivated user through."""

import uuid

import httpx
import pytest

from models.store import Store
from tests.conftest import _postgres_database
from tests.helpers import AUTH, TOKEN
from tests.server import started_server

VIEW = "authentik_sources_plex.view_plexsource"
SLUG = "coherent"
WARM_ROUNDS = 3

TOKEN_INVALID = (403, {"detail": "Token invalid/expired"})
NOT_PERMITTED = (403, {"detail": "You do not have permission to perform this action."})
NOT_FOUND = (404, {"detail": "No PlexSource matches the given query."})


@pytest.fixture(scope="module")
def postgres_url():
    """A fresh PostgreSQL database (conftest's), for this module only."""
    generator = _postgres_database()
    yield next(generator)
    generator.close()


@pytest.fixture(scope="module")
def processes(postgres_url):
    """Two server processes, each its own port, on the one database (the first migrates
    it); a client per process that keeps its connection, as a real client would."""
    with (
        started_server(postgres_url, TOKEN, workers=1) as (first, _),
        started_server(postgres_url, TOKEN, workers=1, migrate=False) as (second, _),
        httpx.Client(base_url=f"{first}/api/v3", timeout=30) as one,
        httpx.Client(base_url=f"{second}/api/v3", timeout=30) as other,
    ):
        yield one, other


@pytest.fixture(scope="module")
def store(postgres_url):
    """The test process's own view of the database, to change state behind the servers."""
    store = Store(postgres_url)
    yield store
    store.close()


@pytest.fixture(scope="module")
def source(processes):
    """A source, made through the first process; as a caller without `change` sees it."""
    created = processes[0].post(
        "/sources/plex/",
        headers=AUTH,
        json={"name": "Coherent", "slug": SLUG, "plex_token": "owner-token"},
    )
    assert created.status_code == 201, created.text
    return {key: value for key, value in created.json().items() if key != "plex_token"}


@pytest.fixture
def caller(store, processes, source):
    """A non-superuser of its own with a token and `view` on the source, whom both
    processes have already served several times (any cache would hold it now)."""
    username = f"user-{uuid.uuid4().hex[:8]}"
    store.create_user(username)
    key = store.create_token(f"{username}-token", username)
    assert store.grant(VIEW, user=username, obj=SLUG)
    for _ in range(WARM_ROUNDS):
        assert ask_both(processes, f"/sources/plex/{SLUG}/", key) == [(200, source)] * 2
        listed = ask_both(processes, "/sources/plex/", key)
        assert [(status, body["results"]) for status, body in listed] == [(200, [source])] * 2
    return username, key


def ask_both(processes, path: str, key: str) -> list[tuple[int, dict]]:
    """GET the path from each process in turn with the key: [(status, body), ...]."""
    answers = []
    for client in processes:
        response = client.get(path, headers={"Authorization": f"Bearer {key}"})
        answers.append((response.status_code, response.json()))
    return answers


def test_a_revoked_token_is_refused_by_every_process(store, processes, caller, source):
    username, key = caller
    other_key = store.create_token(f"{username}-other", username)

    store.revoke_token(f"{username}-token")

    assert ask_both(processes, f"/sources/plex/{SLUG}/", key) == [TOKEN_INVALID] * 2
    assert ask_both(processes, "/sources/plex/", key) == [TOKEN_INVALID] * 2
    # The user's other token is untouched: the refusal is the revoked key's alone.
    assert ask_both(processes, f"/sources/plex/{SLUG}/", other_key) == [(200, source)] * 2


def test_a_revoked_grant_is_refused_by_every_process(store, processes, caller):
    username, key = caller

    store.revoke(VIEW, user=username, obj=SLUG)

    assert ask_both(processes, f"/sources/plex/{SLUG}/", key) == [NOT_FOUND] * 2
    assert ask_both(processes, "/sources/plex/", key) == [NOT_PERMITTED] * 2


def test_a_deactivated_user_is_refused_by_every_process(store, processes, caller):
    username, key = caller

    store.set_user_active(username, False)

    assert ask_both(processes, f"/sources/plex/{SLUG}/", key) == [TOKEN_INVALID] * 2
    assert ask_both(processes, "/sources/plex/", key) == [TOKEN_INVALID] * 2
