"""Blocking work (the store) off the event loop."""

import asyncio
import contextvars
import ctypes
import ctypes.util
import functools
from concurrent.futures import ThreadPoolExecutor

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
    """`function(*args)`, which reads the store, in one snapshot of it: on the event loop
    where the store reads inline (SQLite: a few local statements cost less than a trip
    to a worker thread and back, and one thread holds the GIL instead of many contending
    for it), else in a worker thread (docs/performance.md). `scans`: the reads may scan
    a table (a search), which would hold up every other request on the loop; in a worker
    thread, SQLite scans without the GIL while the loop goes on."""
    if store.reads_inline and not scans:
        with store.snapshot(inline=True):
            return function(*args)
    return await in_worker_thread(_in_snapshot, store, function, *args)


async def writing(store, function, /, *args):
    """`function(*args)`, which writes the store in one transaction: on the event loop
    where the store writes inline and no other writer holds the database right now
    (SQLite; the same gain as `reading`), else in a worker thread, which waits its turn."""
    if store.writes_inline:
        try:
            with store.inline_writes():
                return function(*args)
        except WriteBusy:
            pass  # nothing was done: wait for the database in a worker thread
    return await in_worker_thread(function, *args)


def _in_snapshot(store, function, *args):
    with store.snapshot():
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
