"""`make serve`: several worker processes sharing one database, a graceful stop, and the
served app's frozen start-up heap."""

import gc
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx
import psycopg
import pytest

from app.main import create_served_app
from tests.helpers import AUTH, TOKEN, count_rows, make_source
from tests.server import ROOT, free_port, running_server, started_server
from tests.test_concurrent_writes import CLIENTS, _all_at_once


def _workers(process) -> list[int]:
    """The worker processes uvicorn spawned (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    return [
        int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_two_workers_share_one_database(store, fake_plex):
    with started_server(store.url, TOKEN, plex_api_url=fake_plex.url, workers=2) as (
        base,
        process,
    ):
        assert len(_workers(process)) == 2
        url = f"{base}/api/v3/sources/plex/"

        def create(index):
            with httpx.Client(headers=AUTH, timeout=30) as client:
                mine = client.post(
                    url, json={"name": f"n{index}", "slug": f"w{index}", "plex_token": "t"}
                )
                contested = client.post(
                    url, json={"name": f"c{index}", "slug": "contested", "plex_token": "t"}
                )
                return mine.status_code, contested.status_code

        results = _all_at_once(create)

        assert [mine for mine, _ in results] == [201] * CLIENTS
        assert Counter(contested for _, contested in results) == {201: 1, 400: CLIENTS - 1}
        assert count_rows(store, "plex_source") == CLIENTS + 1
        listed = httpx.get(f"{url}?page_size=100", headers=AUTH).json()
        assert listed["pagination"]["count"] == CLIENTS + 1


def test_a_stopped_server_finishes_the_requests_it_has(store, fake_plex, app):
    """SIGTERM lets a request in flight (here, one waiting 1.5 s on plex.tv) finish with
    its answer; then the server exits."""
    with app.test_client(base_url="http://testserver/api/v3", headers=AUTH) as api:
        make_source(api)
    fake_plex.fail("slow-token", "user", "hang")
    fake_plex.hang_seconds, hang_seconds = 1.5, fake_plex.hang_seconds
    try:
        with started_server(store.url, TOKEN, plex_api_url=fake_plex.url) as (base, process):
            answers = []
            url = f"{base}/api/v3/sources/plex/redeem_token/?slug=plex"
            request = threading.Thread(
                target=lambda: answers.append(
                    httpx.post(url, json={"plex_token": "slow-token"}, timeout=30)
                )
            )
            request.start()
            deadline = time.monotonic() + 10
            while not fake_plex.requests and time.monotonic() < deadline:
                time.sleep(0.02)  # until plex.tv has the request
            process.send_signal(signal.SIGTERM)
            request.join(timeout=30)
            # uvicorn stops, then re-raises the signal so that the exit status names it.
            assert process.wait(timeout=30) == -signal.SIGTERM
    finally:
        fake_plex.hang_seconds = hang_seconds
    assert [(r.status_code, r.json()) for r in answers] == [
        (400, {"plex_token": ["plex.tv did not accept this Plex token."]})
    ]


def test_the_served_app_freezes_its_start_up_heap(store, monkeypatch):
    """The app `python -m app serve` runs leaves what start-up made out of the collector's
    passes (gc.get_objects lists what they walk); what comes later is collected as usual."""
    monkeypatch.setenv("DATABASE_URL", store.url)
    gc.unfreeze()
    app = None
    try:
        app = create_served_app()
        assert gc.get_freeze_count() > 10_000  # the spec, the operations, the modules
        assert not any(tracked is app for tracked in gc.get_objects())
        later = [app]
        assert any(tracked is later for tracked in gc.get_objects(generation=0))
    finally:
        gc.unfreeze()
        if app is not None:
            app.store.close()


def test_servers_starting_together_on_a_fresh_database_migrate_it_once(
    fresh_database_url, tmp_path
):
    """Two `serve` processes started at the same moment on a database without tables:
    one migrates, the other finds it done, both serve."""
    ports = [free_port(), free_port()]
    with ExitStack() as stack:
        logs = [stack.enter_context((tmp_path / f"{port}.log").open("w+")) for port in ports]
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "app", "serve"], cwd=ROOT, stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "DATABASE_URL": fresh_database_url, "BOOTSTRAP_TOKEN": TOKEN,
                     "PORT": str(port), "LOG_LEVEL": "info"},
            )
            for port, log in zip(ports, logs, strict=True)
        ]  # fmt: skip
        try:
            answers = [_first_answer(f"http://127.0.0.1:{port}/api/v3/sources/plex/")
                       for port in ports]  # fmt: skip
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=40)
        printed = "".join(log.seek(0) or log.read() for log in logs)
    assert answers == [200, 200], printed
    assert printed.count("Migrated the database to revision") == 1, printed
    assert printed.count("The database is at the newest revision") == 1, printed
    assert "Traceback" not in printed


def _first_answer(url: str) -> int:
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(url, headers=AUTH).status_code
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "a server did not start"
            time.sleep(0.2)


def test_without_migrating_at_start_an_old_database_is_refused(fresh_database_url):
    env = {**os.environ, "DATABASE_URL": fresh_database_url, "MIGRATE_ON_START": "false"}
    result = subprocess.run([sys.executable, "-m", "app", "serve"], env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "plex-api: the database is not at the newest migration and MIGRATE_ON_START is off; "
        "run: plex-api migrate"
    )


def _drop_connections(url: str) -> int:
    """Terminate every other connection to the database, as a PostgreSQL restart or a
    network cut would; how many were dropped."""
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as admin:
        dropped = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(dropped)


def test_requests_go_on_after_the_database_drops_its_connections(store, fake_plex):
    """PostgreSQL drops every connection the server holds between two requests: the
    next requests (reads awaited on the loop, reads and writes in worker threads) answer
    as they did, none with an error (docs/performance.md)."""
    if store.is_sqlite:
        pytest.skip("a SQLite file has no connections to drop")
    with running_server(store.url, TOKEN, plex_api_url=fake_plex.url) as base:
        url = f"{base}/api/v3/sources/plex/"
        source = httpx.post(
            url, headers=AUTH, json={"name": "Plex", "slug": "plex", "plex_token": "t"}
        ).json()

        def read(_index):
            with httpx.Client(headers=AUTH, timeout=30) as client:
                one = client.get(f"{url}plex/")
                page = client.get(url)
                used_by = client.get(f"{url}plex/used_by/")
                return one.status_code, one.json(), page.status_code, used_by.status_code

        before = _all_at_once(read)  # several connections in each pool
        assert _drop_connections(store.url) >= 2
        after = _all_at_once(read)
        created = httpx.post(
            url, headers=AUTH, json={"name": "Two", "slug": "two", "plex_token": "t"}
        )

    assert before == after == [(200, source, 200, 200)] * CLIENTS
    assert created.status_code == 201
