"""Blocking work (the store) off the event loop."""

import asyncio
import contextvars
import ctypes
import ctypes.util
import functools
import weakref
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import greenlet_spawn  # bounds SQLAlchemy to 2.1 (pyproject.toml)

from models.store import WriteBusy

# As many threads as Starlette's run_in_threadpool allows (anyio's default limiter).
_WORKERS = ThreadPoolExecutor(max_workers=40, thread_name_prefix="worker")


async def in_worker_thread(function, /, *args, **kwargs):
    """`function(*args, **kwargs)` in a worker thread, in a copy of the caller's context
    (Connexion's request context is read there), as Starlette's run_in_threadpool does.
    That one goes through anyio, which suspends the request three times per call (two
    checkpoints, then the result), and each suspension resumes every layer of the
    middleware stack on its way in; this suspends it once."""
    call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_WORKERS, call)


async def reading(store, function, /, *args, scans: bool = False):
    """`function(*args)`, which reads the store, in one snapshot of it, on the event loop
    where it can be (docs/performance.md): SQLite reads inline (a few local statements
    cost less than a trip to a worker thread and back, and one thread holds the GIL
    instead of many contending for it); PostgreSQL reads awaiting the driver, so the
    loop serves other requests while the database answers. Else in a worker thread.
    `scans`: the reads may scan a table (a search), which would hold up every other
    request on the loop; in a worker thread, SQLite scans without the GIL while the loop
    goes on (PostgreSQL scans in its own processes)."""
    if store.reads_inline and not scans:
        with store.snapshot(on_loop=True):
            return function(*args)
    if _awaits_reads(store):
        pool = store.awaited_reads_pool()
        try:
            return await _awaited(store, function, *args)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        # PostgreSQL dropped the connection since its last use (a restart, or a reset
        # on the way). A read changes nothing, so it is made again, once, on a new one.
        await store.renew_awaited_connections(pool)
        return await _awaited(store, function, *args)
    return await in_worker_thread(_in_snapshot, store, function, *args)


async def _awaited(store, function, *args):
    """`function(*args)` on the loop, its reads awaiting the driver: SQLAlchemy's
    greenlet_spawn runs it in a greenlet that hands each statement's wait to the loop.
    (AsyncConnection.run_sync does the same, with two more greenlets per call to open
    and close the connection: 380 µs of CPU per token check against 240.)"""
    return await greenlet_spawn(_in_snapshot, store, function, *args, on_loop=True)


async def writing(store, function, /, *args):
    """`function(*args)`, which writes the store in one transaction, on the event loop
    where it can be: SQLite's inline when no other writer holds the database right now
    (the same gain as `reading`), else in a worker thread, which waits its turn;
    PostgreSQL's awaiting the driver, on the loop that awaits the store's reads."""
    if store.writes_inline:
        try:
            with store.inline_writes():
                return function(*args)
        except WriteBusy:
            pass  # nothing was done: wait for the database in a worker thread
    elif _awaits_reads(store):
        return await greenlet_spawn(_awaited_write, store, function, *args)
    return await in_worker_thread(function, *args)


def _awaited_write(store, function, *args):
    with store.awaited_writes():
        return function(*args)


# The loop that awaits each store's reads (PostgreSQL). Its connections wait on that
# loop's sockets, so they stay with the first loop that reads: the server's. Other loops
# (a test client's, one per test; the Flask flavour's, one per request) read in worker
# threads, as before.
_READING_LOOPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _awaits_reads(store) -> bool:
    if not store.reads_awaited:
        return False
    loop = asyncio.get_running_loop()
    owner = _READING_LOOPS.get(store)
    if owner is None:
        owner = _READING_LOOPS.setdefault(store, loop)
    return owner is loop


def _in_snapshot(store, function, *args, on_loop: bool = False):
    with store.snapshot(on_loop=on_loop):
        return function(*args)


_M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """At most `arenas` malloc arenas in this process (glibc), whether it applied. glibc
    gives threads arenas of their own, up to eight per core: with the worker threads
    above, memory freed in one arena is not reused by another, and a served process
    grew a few per cent a minute under mixed load (docs/performance.md, the soak)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return mallopt(_M_ARENA_MAX, arenas) == 1
