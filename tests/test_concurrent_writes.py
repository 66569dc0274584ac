"""Concurrent writers against the real server: nothing lost, nothing corrupted."""

import threading
from collections import Counter

import httpx

from tests.helpers import AUTH, count_rows

CLIENTS = 20


def _all_at_once(work) -> list:
    """Run `work(i)` on CLIENTS threads released together; return their results."""
    barrier = threading.Barrier(CLIENTS)
    results = [None] * CLIENTS

    def run(index):
        barrier.wait()
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_racing_creates_of_one_slug(server, store):
    url = f"{server}/api/v3/sources/plex/"

    def create(index):
        body = {"name": f"racer {index}", "slug": "contested", "plex_token": "t"}
        return httpx.post(url, json=body, headers=AUTH, timeout=30)

    responses = _all_at_once(create)

    assert Counter(r.status_code for r in responses) == {201: 1, 400: CLIENTS - 1}
    for response in responses:
        if response.status_code == 400:
            assert response.json() == {"slug": ["source with this slug already exists."]}
    assert count_rows(store, "plex_source") == 1


def test_concurrent_writers_lose_nothing(server, store):
    base = f"{server}/api/v3/sources/plex/"

    def create_then_patch(index):
        with httpx.Client(headers=AUTH, timeout=30) as client:
            body = {"name": f"writer {index}", "slug": f"w{index}", "plex_token": "t"}
            created = client.post(base, json=body)
            patched = client.patch(f"{base}w{index}/", json={"allowed_servers": [str(index)]})
            return created.status_code, patched.status_code

    results = _all_at_once(create_then_patch)

    assert results == [(201, 200)] * CLIENTS
    assert count_rows(store, "plex_source") == CLIENTS
    listed = httpx.get(f"{base}?page_size=100", headers=AUTH).json()["results"]
    assert sorted((s["slug"], s["allowed_servers"]) for s in listed) == sorted(
        (f"w{i}", [str(i)]) for i in range(CLIENTS)
    )
