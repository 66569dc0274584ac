"""`make bench`: the production server (one worker) and the ceiling app (bench/ceiling.py)
on loopback, loaded by wrk at 16 connections, interleaved; then list and retrieve latency
at 1k and 100k sources, and the server's memory. It prints; it asserts nothing."""

import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert

from models import migrate
from models.sources import PlexSource
from tests.server import free_port

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 16
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
TOKEN = secrets.token_urlsafe(24)

CREATE = """
local n = 0
request = function()
  n = n + 1
  local slug = "PREFIX" .. n
  local body = '{"name":"Bench ' .. slug .. '","slug":"' .. slug .. '","plex_token":"t",'
    .. '"enabled":true,"allowed_servers":["a","b"],"user_matching_mode":"email_link"}'
  return wrk.format("POST", nil, nil, body)
end
"""


def seed(url: str, count: int, start: int = 0) -> None:
    """Sources `s<start>` … straight into the database, in batches."""
    engine = create_engine(url)
    with engine.begin() as connection:
        for first in range(start, start + count, 5000):
            rows = [
                {
                    "pbm_uuid": uuid.uuid4(),
                    "name": f"Seeded source {n:06d}",
                    "slug": f"s{n}",
                    "enabled": True,
                    "promoted": False,
                    "policy_engine_mode": "any",
                    "user_matching_mode": "identifier",
                    "user_path_template": "x",
                    "icon": "",
                    "group_matching_mode": "identifier",
                    "client_id": "c",
                    "allowed_servers": [],
                    "allow_friends": True,
                    "plex_token": "t",
                }  # fmt: skip
                for n in range(first, min(first + 5000, start + count))
            ]
            connection.execute(insert(PlexSource.__table__), rows)
    engine.dispose()


def start(command: list[str], url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "BOOTSTRAP_TOKEN": TOKEN, "HOST": "127.0.0.1",
           "PORT": str(port), "LOG_LEVEL": "warning", "WORKERS": "1"}  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            if (
                httpx.get(
                    f"http://127.0.0.1:{port}/api/v3/sources/plex/s1/", headers=headers
                ).status_code
                == 200
            ):
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{command} did not start")


def wrk(url: str, script: str | None = None, seconds: int = SECONDS) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
                   "-H", f"Authorization: Bearer {TOKEN}",
                   "-H", "Content-Type: application/json"]  # fmt: skip
        if script:
            lua.write(script)
            lua.flush()
            command += ["-s", lua.name]
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),
        "bad": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def memory_kib(process: subprocess.Popen) -> tuple[int, int]:
    """(current, peak) resident memory of a server process."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    field = lambda name: int(re.search(rf"{name}:\s+(\d+)", status).group(1))  # noqa: E731
    return field("VmRSS"), field("VmHWM")


OPERATIONS = {
    "create": ("", CREATE),
    "retrieve": ("s500/", None),
    "list": ("?page_size=20", None),
    "list+search": ("?page_size=20&search=source%2000", None),
    "list+ordering": ("?page_size=20&ordering=-slug,name", None),
}
SERVER_COMMANDS = {
    "api": [sys.executable, "-m", "app", "serve"],
    "ceiling": [sys.executable, "-m", "uvicorn", "bench.ceiling:create_app", "--factory",
                "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"],
}  # fmt: skip


@contextmanager
def servers_stopped() -> Iterator[dict[str, subprocess.Popen]]:
    """A dict for started servers; each is stopped on the way out."""
    servers: dict[str, subprocess.Popen] = {}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=30)


def prepare(folder: Path, servers: dict, apps=tuple(SERVER_COMMANDS)) -> dict[str, str]:
    """For each app: a fresh database with 1,000 sources and a started server. Returns
    each app's sources URL and records its database URL in `DATABASES`."""
    bases = {}
    for name in apps:
        url = DATABASES[name] = f"sqlite:///{folder / name}.sqlite3"
        migrate.upgrade(url)
        seed(url, 1000)
        port = free_port()
        command = [part.replace("{port}", str(port)) for part in SERVER_COMMANDS[name]]
        servers[name] = start(command, url, port)
        bases[name] = f"http://127.0.0.1:{port}/api/v3/sources/plex/"
    return bases


DATABASES: dict[str, str] = {}


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="plex-bench-"))
    with servers_stopped() as servers:
        base = prepare(folder, servers)
        for name in base:  # warm-up
            wrk(base[name] + "s1/", seconds=2)
        warm = memory_kib(servers["api"])
        print(f"# make bench: {CONNECTIONS} connections, {SECONDS}s per run, wrk on loopback")
        print(f"{'operation':<15}{'api req/s':>10}{'p50 ms':>8}{'p99 ms':>8}"
              f"{'ceiling':>10}{'p50 ms':>8}{'p99 ms':>8}{'ratio':>7}  bad")  # fmt: skip
        for operation, (suffix, script) in OPERATIONS.items():
            results = {}
            for name in base:
                prefix = f"{name[0]}{secrets.token_hex(4)}x"
                results[name] = wrk(
                    base[name] + suffix, script.replace("PREFIX", prefix) if script else None
                )
            api, ceiling = results["api"], results["ceiling"]
            print(f"{operation:<15}{api['rps']:>10.0f}{api['p50']:>8.1f}{api['p99']:>8.1f}"
                  f"{ceiling['rps']:>10.0f}{ceiling['p50']:>8.1f}{ceiling['p99']:>8.1f}"
                  f"{api['rps'] / ceiling['rps']:>7.2f}  {api['bad']}/{ceiling['bad']}"
                  f"{'  sockets: ' + api['socket_errors'] if api['socket_errors'] else ''}"
                  )  # fmt: skip
        scaled = {op: OPERATIONS[op][0] for op in ("list", "retrieve")}
        small = {op: wrk(base["api"] + suffix) for op, suffix in scaled.items()}
        seed(DATABASES["api"], 99_000, start=1000)
        large = {op: wrk(base["api"] + suffix) for op, suffix in scaled.items()}
        for operation in small:
            before, after = small[operation]["p99"], large[operation]["p99"]
            print(f"scale {operation:<9} p99 at ~1k: {before:.1f} ms, at ~100k: {after:.1f} ms "
                  f"({after / before:.2f}x)")  # fmt: skip
        now, peak = memory_kib(servers["api"])
        print(f"api memory: {warm[0] // 1024} MiB after warm-up, {now // 1024} MiB at the end, "
              f"peak {peak // 1024} MiB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
