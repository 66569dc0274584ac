"""The one launcher of real servers, for tests and `make bench`: the production command
(`python -m app serve`, or another command such as the bench's reference apps) on a
free loopback port."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(database_url: str, token: str, flavour: str = "async", **options):
    """Migrate, start the production command, wait until it answers; yield its base URL."""
    with started_server(database_url, token, flavour, **options) as (base, _process):
        yield base


SERVE = (sys.executable, "-m", "app", "serve")


@contextmanager
def started_server(
    database_url: str,
    token: str,
    flavour: str = "async",
    log=None,
    log_level: str = "warning",
    plex_api_url: str = "http://127.0.0.1:9",
    workers: int = 1,
    *,
    command: tuple[str, ...] = SERVE,
    migrate: bool = True,
    ready_path: str = "/api/v3/openapi.json",
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
):
    """As running_server, yielding the base URL and the server's process. `command` may
    name `{port}`; the server is ready when `ready_path` answers 200 to the token."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BOOTSTRAP_TOKEN": token,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "APP_FLAVOUR": flavour,
        "LOG_LEVEL": log_level,
        "PLEX_API_URL": plex_api_url,
        # Generous: a loaded 2-core CI machine must not turn slow answers into 502s.
        "PLEX_TIMEOUT": "5",
        "WORKERS": str(workers),
        **(env or {}),
    }
    if migrate:
        subprocess.run([sys.executable, "-m", "app", "migrate"], env=env, cwd=cwd, check=True)
    process = subprocess.Popen(
        [part.replace("{port}", str(port)) for part in command],
        env=env,
        cwd=cwd,
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                httpx.get(base + ready_path, headers=headers, timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=40)
