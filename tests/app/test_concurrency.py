"""app/concurrency.py: blocking work off the event loop."""

import asyncio
import contextvars
import sqlite3
import threading

from app.concurrency import in_worker_thread, limit_malloc_arenas, reading, writing
from models import migrate
from models.resources import SOURCES
from models.store import Store


def test_a_worker_thread_call_suspends_the_request_once():
    """app/concurrency.py: blocking work runs in another thread, sees the caller's context
    (Connexion's request context is read there), and suspends the awaiting request once
    (Starlette's run_in_threadpool suspends it three times, and every suspension resumes
    the whole middleware stack)."""
    request_value = contextvars.ContextVar("request_value")

    def blocking(suffix):
        return request_value.get() + suffix, threading.get_ident()

    class Suspensions:
        """Awaits `awaitable`, counting the times it gives the event loop back."""

        def __init__(self, awaitable):
            self.awaitable, self.count = awaitable, 0

        def __await__(self):
            steps, sent = self.awaitable.__await__(), None
            while True:
                try:
                    yielded = steps.send(sent)
                except StopIteration as done:
                    return done.value
                self.count += 1
                sent = yield yielded

    async def request():
        request_value.set("from the request")
        counted = Suspensions(in_worker_thread(blocking, ", in a worker"))
        return await counted, counted.count, threading.get_ident()

    (value, worker), suspensions, loop_thread = asyncio.run(request())
    assert value == "from the request, in a worker"
    assert worker != loop_thread
    assert suspensions == 1


def test_malloc_arenas_can_be_limited_here():
    """glibc on this machine takes the limit (the served process sets it at start)."""
    assert limit_malloc_arenas(8) is True


def test_reads_run_on_the_loop_where_they_can(fresh_database_url):
    """app/concurrency.reading, in one snapshot (both reads see one connection): SQLite
    is read inline on the event loop, except a read that may scan a table, which goes to
    a worker thread; PostgreSQL is read on the loop too, awaiting the driver, scans
    included (PostgreSQL scans in its own processes), but only on the first loop that
    reads the store: another loop reads in worker threads (docs/performance.md)."""
    migrate.upgrade(fresh_database_url)
    store = Store(fresh_database_url)

    def where(_store):
        with store._reading() as first, store._reading() as second:
            return threading.get_ident(), first is second

    async def read(**options):
        (thread, one_snapshot), loop_thread = (
            await reading(store, where, store, **options),
            threading.get_ident(),
        )
        assert one_snapshot
        return thread == loop_thread

    async def both():
        return await read(), await read(scans=True)

    try:
        plain_on_loop, scan_on_loop = asyncio.run(both())
        other_loop_on_loop, _ = asyncio.run(both())
    finally:
        store.close()
    assert plain_on_loop is True
    assert scan_on_loop is not store.is_sqlite
    assert other_loop_on_loop is store.is_sqlite


def test_sqlite_writes_run_on_the_loop_unless_another_writer_holds_the_database(tmp_path):
    """app/concurrency.writing: a write runs on the event loop when the database is free;
    when another writer holds it (a thread of this process, or another connection), it
    waits in a worker thread instead, and is done once (docs/performance.md)."""
    url = f"sqlite:///{tmp_path / 'writes.sqlite3'}"
    migrate.upgrade(url)
    store = Store(url)

    def create(slug):
        store.create(SOURCES, {"name": slug, "slug": slug, "plex_token": "t"})
        return threading.get_ident()

    async def write(slug):
        return await writing(store, create, slug), threading.get_ident()

    def held(release_after: float, hold, release):
        hold()
        threading.Timer(release_after, release).start()

    try:
        free_thread, loop_thread = asyncio.run(write("free"))
        # Another thread of this process is writing.
        held(0.2, store._write_lock.acquire, store._write_lock.release)
        thread_writer, loop_a = asyncio.run(write("after-a-thread"))
        # Another connection (another process, say) holds the database.
        other = sqlite3.connect(
            str(tmp_path / "writes.sqlite3"), isolation_level=None, check_same_thread=False
        )
        held(0.2, lambda: other.execute("BEGIN IMMEDIATE"), lambda: other.execute("COMMIT"))
        other_writer, loop_b = asyncio.run(write("after-a-connection"))
        other.close()
        slugs = sorted(s.slug for s in store.token_sources())
    finally:
        store.close()
    assert free_thread == loop_thread
    assert thread_writer != loop_a and other_writer != loop_b
    assert slugs == ["after-a-connection", "after-a-thread", "free"]
