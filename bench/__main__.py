"""`make bench`: the production server (one worker) and two reference apps on loopback,
the ceiling (bench/ceiling.py: the same store without Connexion) and the limit
(bench/limit.py: the database driver alone), loaded by wrk at 16 connections,
interleaved; list and retrieve latency at 1k sources against a second server's at 100k,
also interleaved; the servers' memory. It prints; it asserts nothing."""

import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select

from models import migrate
from models.sources import PlexSource
from tests.server import started_server

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 16
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
TOKEN = secrets.token_urlsafe(24)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
# With two or more cores the load generator keeps one to itself; the servers run
# unpinned, as deployed.
_CORES = sorted(os.sched_getaffinity(0))
PIN_LOAD = ["taskset", "-c", str(_CORES[0])] if len(_CORES) > 1 else []
# The servers run unpinned, as deployed.

# Counts answers whose status is not the one the operation must give.
STATUS_CHECK = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) unexpected = 0 end
function response(status, headers, body)
  -- EXPECTED 0: any answer below 400 is expected (a mix of operations)
  if (EXPECTED == 0 and status >= 400) or (EXPECTED ~= 0 and status ~= EXPECTED) then
    unexpected = unexpected + 1
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("unexpected") end
  io.write("Unexpected statuses: " .. total .. "\\n")
end
"""
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


def wrk(url: str, script: str = "", seconds: int = SECONDS, expected: int = 200) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(STATUS_CHECK.replace("EXPECTED", str(expected)) + script)
        lua.flush()
        command = [*PIN_LOAD, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
                   "-H", f"Authorization: Bearer {TOKEN}",
                   "-H", "Content-Type: application/json", "-s", lua.name, url]  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),
        "bad": int(re.search(r"Unexpected statuses: (\d+)", output).group(1)),
        "socket_errors": errors.group(1) if errors else "",
    }


def run_operation(url: str, operation: str, prefix: str, server: subprocess.Popen) -> dict:
    """One wrk run of an operation; `prefix` keeps created slugs unique. With it, the
    server's CPU time per answer, in µs."""
    suffix, script, expected = OPERATIONS[operation]
    before = cpu_seconds(server)
    result = wrk(url + suffix, script.replace("PREFIX", prefix), expected=expected)
    result["cpu_us"] = (cpu_seconds(server) - before) / max(result["requests"], 1) * 1e6
    return result


def cpu_seconds(process: subprocess.Popen) -> float:
    """The CPU time a process has used so far, all its threads, user and system."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def memory_kib(process: subprocess.Popen) -> tuple[int, int]:
    """(current, peak) resident memory of a server process."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    field = lambda name: int(re.search(rf"{name}:\s+(\d+)", status).group(1))  # noqa: E731
    return field("VmRSS"), field("VmHWM")


# operation -> (URL suffix, wrk script, expected status). Create runs last, so that the
# lists of both apps count the same 1,000 sources.
OPERATIONS = {
    "retrieve": ("s500/", "", 200),
    "list": ("?page_size=20", "", 200),
    "list+search": ("?page_size=20&search=source%2000", "", 200),
    "list+ordering": ("?page_size=20&ordering=-slug,name", "", 200),
    "create": ("", CREATE, 201),
}
SERVER_COMMANDS = {
    "api": [sys.executable, "-m", "app", "serve"],
    "ceiling": [sys.executable, "-m", "uvicorn", "bench.ceiling:create_app", "--factory",
                "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"],
    "limit": [sys.executable, "-m", "uvicorn", "bench.limit:create_app", "--factory",
              "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"],
}  # fmt: skip


class Servers(dict):
    """Started servers' processes by name; each is stopped when `servers_stopped` ends."""

    stack: ExitStack


@contextmanager
def servers_stopped() -> Iterator[Servers]:
    with ExitStack() as stack:
        servers = Servers()
        servers.stack = stack
        yield servers


def prepare(
    folder: Path,
    servers: dict,
    apps=tuple(SERVER_COMMANDS),
    sources: int = 1000,
    suffix: str = "",
    env: dict[str, str] | None = None,
) -> dict[str, str]:
    """For each app: a fresh database with `sources` sources and a started server, both
    named after the app and `suffix`. Returns each one's sources URL."""
    bases = {}
    for app in apps:
        name = app + suffix
        url = database_url(folder, name)
        migrate.upgrade(url)
        seed(url, sources)
        server = started_server(
            url, TOKEN, command=tuple(SERVER_COMMANDS[app]), migrate=False,
            ready_path="/api/v3/sources/plex/s1/", env=env,
        )  # fmt: skip
        base, servers[name] = servers.stack.enter_context(server)
        bases[name] = f"{base}/api/v3/sources/plex/"
    return bases


def database_url(folder: Path, app: str) -> str:
    return f"sqlite:///{folder / app}.sqlite3"


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="plex-bench-"))
    with servers_stopped() as servers:
        base = prepare(folder, servers)
        # Scale: a second API server on 100,000 sources, loaded in alternation with the
        # first, so that the machine's drift cancels out as in the comparison.
        large_base = prepare(folder, servers, ("api",), 100_000, "-100k")["api-100k"]
        for name in base:  # warm-up: every operation, so that caches and pools are full
            for operation in OPERATIONS:
                path, script, expected = OPERATIONS[operation]
                wrk(base[name] + path, script.replace("PREFIX", f"w{name}"), 1, expected)
        for path in ("?page_size=20", "s50000/"):
            wrk(large_base + path, seconds=1)
        memory = {"after warm-up": memory_kib(servers["api"])[0]}
        counts = [_count(database_url(folder, name)) for name in ("api", "api-100k")]
        small_runs, large_runs = _scale_runs((base["api"], "s500/"), (large_base, "s50000/"))
        print(f"# make bench, {time.strftime('%Y-%m-%d')}, {_machine()}")
        pinned = " (own core)" if PIN_LOAD else ""
        print(f"# {CONNECTIONS} connections, {SECONDS}s per run, median of {ROUNDS} interleaved "
              f"runs per app, wrk on loopback{pinned}, SQLite")  # fmt: skip
        # For each reference app (ceiling: the same store without Connexion; limit: the
        # driver alone), `÷`: the median over the rounds of api/reference throughput
        # within a round, where both ran back to back, so that the machine's drift between
        # rounds cancels out. `ms cpu`: each server's CPU time per answer (user and system),
        # which time spent waiting does not move.
        print(f"{'operation':<15}{'api req/s':>10}{'ms cpu':>7}{'p99 ms':>8}"
              f"{'ceiling':>9}{'ms cpu':>7}{'÷':>6}{'limit':>8}{'ms cpu':>7}{'÷':>6}"
              f"{'range':>11}  unexpected")  # fmt: skip
        for operation in os.environ.get("BENCH_OPERATIONS", ",".join(OPERATIONS)).split(","):
            runs: dict[str, list[dict]] = {name: [] for name in base}
            for round_ in range(ROUNDS):
                # Alternate which app goes first, so none always runs on a warmer machine.
                order = sorted(base) if round_ % 2 else sorted(base, reverse=True)
                for name in order:
                    prefix = f"{name[0]}{round_}{secrets.token_hex(4)}x"
                    runs[name].append(run_operation(base[name], operation, prefix, servers[name]))
            api, ceiling, limit = (_median(runs[name]) for name in ("api", "ceiling", "limit"))

            def ratio(reference: str, runs: dict = runs) -> list[float]:
                pairs = zip(runs["api"], runs[reference], strict=True)
                return sorted(mine["rps"] / theirs["rps"] for mine, theirs in pairs)

            to_ceiling, to_limit = ratio("ceiling"), ratio("limit")
            spread = f"{to_limit[0]:.2f}–{to_limit[-1]:.2f}"
            bad = "/".join(str(m["bad"]) for m in (api, ceiling, limit))
            print(f"{operation:<15}{api['rps']:>10.0f}{api['cpu_us'] / 1000:>7.2f}"
                  f"{api['p99']:>8.1f}{ceiling['rps']:>9.0f}{ceiling['cpu_us'] / 1000:>7.2f}"
                  f"{to_ceiling[len(to_ceiling) // 2]:>6.2f}{limit['rps']:>8.0f}"
                  f"{limit['cpu_us'] / 1000:>7.2f}{to_limit[len(to_limit) // 2]:>6.2f}"
                  f"{spread:>11}  {bad}"
                  f"{'  sockets: ' + api['socket_errors'] if api['socket_errors'] else ''}"
                  )  # fmt: skip
        memory["after the comparison"] = memory_kib(servers["api"])[0]
        for operation in ("list", "retrieve"):
            small, large = small_runs[operation], large_runs[operation]
            before, after = _median(small), _median(large)
            growth = sorted(b["p99"] / a["p99"] for a, b in zip(small, large, strict=True))
            print(f"scale {operation:<9} p50/p99 at {counts[0]:,}: {before['p50']:.1f}/"
                  f"{before['p99']:.1f} ms, at {counts[1]:,}: {after['p50']:.1f}/"
                  f"{after['p99']:.1f} ms (p99 {growth[len(growth) // 2]:.2f}x)"
                  )  # fmt: skip
        peak = memory_kib(servers["api"])[1]
        print("api memory (RSS): " + ", ".join(f"{kib / 1024:.0f} MiB {when}"
              for when, kib in memory.items()) + f"; peak {peak / 1024:.0f} MiB")  # fmt: skip
        now, peak = memory_kib(servers["api-100k"])
        print(f"api memory at 100k (RSS): {now / 1024:.0f} MiB after its runs; "
              f"peak {peak / 1024:.0f} MiB")  # fmt: skip
    return 0


def _scale_runs(*servers: tuple[str, str]) -> list[dict[str, list[dict]]]:
    """List and retrieve runs on each server (its sources URL, the source it retrieves),
    the servers alternating within each round. The p99 growth between two servers is
    the median of the rounds' ratios, as the throughput ratio is."""
    runs = [{"list": [], "retrieve": []} for _ in servers]
    for round_ in range(ROUNDS):
        order = range(len(servers))
        for index in reversed(order) if round_ % 2 else order:
            base, retrieved = servers[index]
            runs[index]["list"].append(wrk(base + "?page_size=20"))
            runs[index]["retrieve"].append(wrk(base + retrieved))
    return runs


def _median(runs: list[dict]) -> dict:
    """Per figure, the median over the runs; unexpected statuses are summed."""
    middle = len(runs) // 2
    keys = [key for key in ("rps", "p50", "p99", "cpu_us") if key in runs[0]]
    result = {key: sorted(run[key] for run in runs)[middle] for key in keys}
    result["bad"] = sum(run["bad"] for run in runs)
    result["socket_errors"] = "; ".join(
        run["socket_errors"] for run in runs if run["socket_errors"]
    )
    return result


def _machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    return f"{os.cpu_count()} cores ({model.group(1) if model else 'unknown CPU'})"


def _count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(PlexSource.__table__))
    engine.dispose()
    return count


if __name__ == "__main__":
    sys.exit(main())
