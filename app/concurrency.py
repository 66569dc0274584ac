"""Blocking work (the store, plex.tv) off the event loop."""

import asyncio
import contextvars
import functools
from concurrent.futures import ThreadPoolExecutor

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
