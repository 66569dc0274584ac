"""`make bench`: the production server (one worker) and two reference apps on loopback,
the ceiling (bench/ceiling.py: the same store without Connexion) and the limit
(bench/limit.py: the database driver alone), loaded by wrk at 16 connections,
interleaved; then the API with two workers; list and retrieve latency at 1k sources
against a second server's at 100k, and there for a user holding 10,000 grants against
one holding one, also interleaved; the servers' memory. It prints; it asserts nothing.

`BENCH_DB=postgres` runs it all on PostgreSQL (a fresh database per server, dropped at
the end); the default is SQLite."""

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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, delete, func, insert, select

from models import migrate
from models.identity import Role, RolePermission, Token, User, managed_role_name, user_roles
from models.plex import UserPlexSourceConnection
from models.sources import (
    PlexSource,
    PropertyMapping,
    group_property_mappings,
    user_property_mappings,
)
from tests.server import started_server

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 16
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SETTLE_SECONDS = 1
DATABASE = os.environ.get("BENCH_DB", "sqlite")
# PostgreSQL's server, trust authentication: the bench creates and drops bench_* there.
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
# The bootstrap superuser's key, and those of users in no group, holding object grants.
TOKEN = secrets.token_urlsafe(24)
VIEWER_TOKEN = secrets.token_urlsafe(24)
MANY_GRANTS_TOKEN = secrets.token_urlsafe(24)
ONE_GRANT_TOKEN = secrets.token_urlsafe(24)
SOURCES = 1000
VIEWED = [f"s{n}" for n in range(0, SOURCES, 10)]  # the viewer's 100 sources
USED = "s700"  # the source with property mappings and a connection (on no list's page 1)
# Sources seeded per second of a delete run: more than any app deletes (the limit does
# up to ten thousand a second on SQLite), so that every request finds one of its own.
DELETABLE_PER_SECOND = 30_000
# The API with several worker processes, under the same load as one worker.
WORKERS = 2
WORKERS_OPERATIONS = ("retrieve", "list", "create")
# With two or more cores the load generator keeps one to itself; the servers run
# unpinned, as deployed.
_CORES = sorted(os.sched_getaffinity(0))
PIN_LOAD = ["taskset", "-c", str(_CORES[0])] if len(_CORES) > 1 else []

# Counts answers whose status is not the one the operation must give, and among them
# those no route of the app took: 404 or 405 from the framework itself, not JSON (an
# app's own answers are), which mean the app does not serve the operation.
STATUS_CHECK = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) unexpected = 0; unrouted = 0 end
function response(status, headers, body)
  -- EXPECTED 0: any answer below 400 is expected (a mix of operations)
  if (EXPECTED == 0 and status >= 400) or (EXPECTED ~= 0 and status ~= EXPECTED) then
    unexpected = unexpected + 1
    local kind = headers["content-type"] or headers["Content-Type"] or ""
    if (status == 404 or status == 405) and not string.find(kind, "json") then
      unrouted = unrouted + 1
    end
  end
end
function done(summary, latency, requests)
  local total, lost = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
    lost = lost + thread:get("unrouted")
  end
  io.write("Unexpected statuses: " .. total .. "\\nUnrouted: " .. lost .. "\\n")
end
"""
# The scripts walk URLs below the sources URL; PREFIX is unique to the app and the run.
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
# Each request renames a seeded source (a new name in every run, so that every request
# changes the row) and switches it off.
PATCH = f"""
local n = 0
request = function()
  n = n + 1
  local slug = "s" .. (n % {SOURCES})
  local body = '{{"name":"Patched PREFIX' .. n .. '","enabled":false}}'
  return wrk.format("PATCH", wrk.path .. slug .. "/", nil, body)
end
"""
# Each request deletes a source of its own, seeded before the run (run_operation).
DELETE = """
local n = 0
request = function()
  n = n + 1
  return wrk.format("DELETE", wrk.path .. "PREFIX" .. n .. "/")
end
"""


@dataclass(frozen=True)
class Operation:
    """One phase: wrk requests `path` below the sources URL, or what `script` makes of
    that URL, with `token`'s credentials; every answer must have status `expected`.
    `writes`: it changes the sources, so it runs after the reads and is warmed up just
    before its own rounds, and the lists of every app count the same sources. `prefixed`:
    its requests create (`created`) or delete (`deleted`: seeded before the run) sources
    slugged PREFIX<n>; those left are removed after the run, so that every run starts
    from the same sources."""

    path: str = ""
    script: str = ""
    expected: int = 200
    token: str = TOKEN
    writes: bool = False
    prefixed: str = ""


OPERATIONS = {
    "retrieve": Operation("s500/"),
    "list": Operation("?page_size=20"),
    "list+search": Operation("?page_size=20&search=source%2000"),
    "list+ordering": Operation("?page_size=20&ordering=-slug,name"),
    "list (grants)": Operation("?page_size=20", token=VIEWER_TOKEN),
    "retrieve (grants)": Operation("s500/", token=VIEWER_TOKEN),
    "used_by": Operation(f"{USED}/used_by/"),
    "partial update": Operation(script=PATCH, writes=True),
    "create": Operation(script=CREATE, expected=201, writes=True, prefixed="created"),
    "delete": Operation(script=DELETE, expected=204, writes=True, prefixed="deleted"),
}
SERVER_COMMANDS = {
    "api": [sys.executable, "-m", "app", "serve"],
    "ceiling": [sys.executable, "-m", "uvicorn", "bench.ceiling:create_app", "--factory",
                "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"],
    "limit": [sys.executable, "-m", "uvicorn", "bench.limit:create_app", "--factory",
              "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"],
}  # fmt: skip


# -- the databases -------------------------------------------------------------------


def engine_for(url: str):
    """SQLAlchemy's engine; PostgreSQL through psycopg 3, as the store reaches it."""
    return create_engine(re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url))


def seeded_uuid(name: str) -> uuid.UUID:
    """The same key for the same seeded object in every app's database, so that their
    answers can be compared byte for byte."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"bench:{name}")


def seed(url: str, count: int, start: int = 0, prefix: str = "s") -> None:
    """Sources `<prefix><start>` … straight into the database, in batches."""
    engine = engine_for(url)
    with engine.begin() as connection:
        for first in range(start, start + count, 5000):
            rows = [
                {
                    "pbm_uuid": seeded_uuid(f"{prefix}{n}"),
                    "name": f"Seeded source {n:06d}",
                    "slug": f"{prefix}{n}",
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


def purge(url: str, prefix: str) -> None:
    """Remove the sources slugged `<prefix>…` (a run's creations, or what it left of the
    sources seeded for it to delete)."""
    engine = engine_for(url)
    with engine.begin() as connection:
        sources = PlexSource.__table__
        connection.execute(delete(sources).where(sources.c.slug.startswith(prefix)))
    engine.dispose()


def add_viewer(url: str, username: str, key: str, slugs: list[str]) -> None:
    """A user in no group (so not a superuser), an API key for it, and the view
    permission on the sources with these slugs: object grants, inserted in bulk."""
    engine = engine_for(url)
    with engine.begin() as connection:
        user_id = connection.execute(
            insert(User.__table__).returning(User.__table__.c.id),
            {"username": username, "name": username, "email": "", "is_active": True,
             "path": "users"},
        ).scalar_one()  # fmt: skip
        connection.execute(
            insert(Token.__table__),
            {"token_uuid": uuid.uuid4(), "identifier": f"bench-{username}",
             "key_digest": Token.digest(key), "intent": "api", "description": "",
             "expiring": False, "expires": None, "user_id": user_id},
        )  # fmt: skip
        wanted = set(slugs)
        pks = connection.execute(select(PlexSource.pbm_uuid, PlexSource.slug))
        # The user's own permissions are on its managed role, as the store keeps them.
        role = uuid.uuid4()
        name = managed_role_name("user", user_id)
        connection.execute(
            insert(Role.__table__), {"role_uuid": role, "name": name, "managed": name}
        )
        connection.execute(insert(user_roles), {"user_id": user_id, "role_uuid": role})
        grants = [
            {"role_uuid": role, "codename": "authentik_sources_plex.view_plexsource",
             "object_pk": str(pk)}
            for pk, slug in pks if slug in wanted
        ]  # fmt: skip
        if grants:
            connection.execute(insert(RolePermission.__table__), grants)
    engine.dispose()


def link_used_by(url: str, slug: str, username: str) -> None:
    """Give the source one group and one user property mapping, and a connection of the
    user's: something in each part of its used_by answer."""
    engine = engine_for(url)
    with engine.begin() as connection:
        source = connection.scalar(select(PlexSource.pbm_uuid).where(PlexSource.slug == slug))
        user_id = connection.scalar(select(User.id).where(User.username == username))
        for table, name in ((group_property_mappings, "group"), (user_property_mappings, "user")):
            mapping = seeded_uuid(f"{slug}-{name}-mapping")
            connection.execute(
                insert(PropertyMapping.__table__),
                {"pm_uuid": mapping, "name": f"Bench {name} mapping", "expression": "return {}"},
            )
            connection.execute(insert(table), {"source_pk": source, "mapping_pk": mapping})
        now = datetime.now(UTC)
        connection.execute(
            insert(UserPlexSourceConnection.__table__),
            {"user_id": user_id, "source_pk": source, "identifier": "bench-plex-account",
             "plex_token": "t", "created": now, "last_updated": now},
        )  # fmt: skip
    engine.dispose()


def new_database(servers: "Servers", folder: Path, name: str) -> str:
    """A fresh, empty database for one server: a SQLite file in `folder`, or a
    PostgreSQL database that is dropped when `servers` stop (after the server)."""
    if DATABASE != "postgres":
        return f"sqlite:///{folder / name}.sqlite3"
    database = f"bench_{re.sub(r'[^a-z0-9]', '_', name)}_{secrets.token_hex(4)}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
    servers.stack.callback(_drop_database, database)
    return f"{POSTGRES}/{database}"


def _drop_database(database: str) -> None:
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def database_label() -> str:
    if DATABASE != "postgres":
        return "SQLite"
    with psycopg.connect(f"{POSTGRES}/postgres") as connection:
        version = connection.execute("SHOW server_version").fetchone()[0]
    return "PostgreSQL " + version.split()[0]


def _count(url: str) -> int:
    engine = engine_for(url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(PlexSource.__table__))
    engine.dispose()
    return count


# -- load and measures ---------------------------------------------------------------


def wrk(
    url: str, script: str = "", seconds: int = SECONDS, expected: int = 200, token: str = TOKEN
) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(STATUS_CHECK.replace("EXPECTED", str(expected)) + script)
        lua.flush()
        command = [*PIN_LOAD, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
                   "-H", f"Authorization: Bearer {token}",
                   "-H", "Content-Type: application/json", "-s", lua.name, url]  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),
        "bad": int(re.search(r"Unexpected statuses: (\d+)", output).group(1)),
        "unrouted": int(re.search(r"Unrouted: (\d+)", output).group(1)),
        "socket_errors": errors.group(1) if errors else "",
    }


def run_operation(
    url: str,
    operation: str,
    prefix: str,
    server: subprocess.Popen,
    database: str | None = None,
    seconds: int = SECONDS,
) -> dict:
    """One wrk run of an operation on the server at `url` (its sources URL), whose
    database is `database`; `prefix` keeps the slugs it creates or deletes its own. With
    it, the server's CPU time per answer, in µs."""
    spec = OPERATIONS[operation]
    if spec.prefixed == "deleted":
        seed(database, DELETABLE_PER_SECOND * seconds, start=1, prefix=prefix)
    before = cpu_seconds(server)
    result = wrk(url + spec.path, spec.script.replace("PREFIX", prefix), seconds,
                 spec.expected, spec.token)  # fmt: skip
    result["cpu_us"] = (cpu_seconds(server) - before) / max(result["requests"], 1) * 1e6
    if spec.prefixed:
        purge(database, prefix)
    return result


def run_prefix(tag: str) -> str:
    """A slug prefix of one run's own: a request still in flight when wrk stops may
    create its source after the run's purge, where no later run's slugs may be."""
    return f"{tag}{secrets.token_hex(4)}x"


def served(result: dict) -> bool:
    """Whether the app has the operation at all: some answer came from a route of it."""
    return result["unrouted"] < result["requests"]


def cpu_seconds(process: subprocess.Popen) -> float:
    """The CPU time a server has used so far, user and system: all its threads, and its
    worker processes' (WORKERS > 1)."""
    total = 0
    for pid in _process_tree(process.pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:  # ended meanwhile
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _process_tree(pid: int) -> list[int]:
    pids = [pid]
    for parent in pids:  # grows as children are found
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                pids += [int(child) for child in children.read_text().split()]
            except FileNotFoundError:
                continue
    return pids


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def memory_kib(process: subprocess.Popen) -> tuple[int, int]:
    """(current, peak) resident memory of a server process."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    field = lambda name: int(re.search(rf"{name}:\s+(\d+)", status).group(1))  # noqa: E731
    return field("VmRSS"), field("VmHWM")


# -- servers -------------------------------------------------------------------------


class Servers(dict):
    """Started servers' processes by name, and their databases' URLs; each server is
    stopped (and its PostgreSQL database dropped) when `servers_stopped` ends."""

    stack: ExitStack
    databases: dict[str, str]


@contextmanager
def servers_stopped() -> Iterator[Servers]:
    with ExitStack() as stack:
        servers = Servers()
        servers.stack = stack
        servers.databases = {}
        yield servers


def prepare(
    folder: Path,
    servers: Servers,
    apps=tuple(SERVER_COMMANDS),
    sources: int = SOURCES,
    suffix: str = "",
    env: dict[str, str] | None = None,
    workers: int = 1,
) -> dict[str, str]:
    """For each app: a fresh database with `sources` sources and a started server, both
    named after the app and `suffix`. Returns each one's sources URL."""
    bases = {}
    for app in apps:
        name = app + suffix
        url = servers.databases[name] = new_database(servers, folder, name)
        migrate.upgrade(url)
        seed(url, sources)
        # The viewer and the used_by source, alike in every app's database.
        add_viewer(url, "bench-viewer", VIEWER_TOKEN, VIEWED)
        link_used_by(url, USED, "bench-viewer")
        server = started_server(
            url, TOKEN, command=tuple(SERVER_COMMANDS[app]), migrate=False,
            ready_path="/api/v3/sources/plex/s1/", env=env, workers=workers,
        )  # fmt: skip
        base, servers[name] = servers.stack.enter_context(server)
        bases[name] = f"{base}/api/v3/sources/plex/"
    return bases


# -- the report ----------------------------------------------------------------------


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="plex-bench-"))
    selected = os.environ.get("BENCH_OPERATIONS", ",".join(OPERATIONS)).split(",")
    with servers_stopped() as servers:
        base = prepare(folder, servers)
        # Scale: a second API server on 100,000 sources, loaded in alternation with the
        # first, so that the machine's drift cancels out as in the comparison; there, a
        # user with view grants on 10,000 sources against a user with one.
        # The limit on the same data shows what the grants cost the work itself.
        large_bases = prepare(folder, servers, ("api", "limit"), 100_000, "-100k")
        large_base = large_bases["api-100k"]
        for name in large_bases:
            large = servers.databases[name]
            many = [f"s{n}" for n in range(0, 100_000, 10)]
            add_viewer(large, "bench-many", MANY_GRANTS_TOKEN, many)
            add_viewer(large, "bench-one", ONE_GRANT_TOKEN, ["s50000"])

        def warm_up(operation: str) -> list[str]:
            """A short run of the operation on every app, so that caches and pools are
            full; the apps that serve it."""
            serving = []
            for name in base:
                prefix, database = run_prefix(f"w{name[0]}"), servers.databases[name]
                result = run_operation(base[name], operation, prefix, servers[name], database, 1)
                if served(result):
                    serving.append(name)
            return serving

        # Reads first, all of them, before anything is measured; each write just before
        # its own rounds, so that none changes what a read finds.
        serving = {op: warm_up(op) for op in selected if not OPERATIONS[op].writes}
        for token in (TOKEN, MANY_GRANTS_TOKEN, ONE_GRANT_TOKEN):
            for path in ("?page_size=20", "s50000/"):
                for url in large_bases.values():
                    wrk(url + path, seconds=1, token=token)
        memory = {"after warm-up": memory_kib(servers["api"])[0]}
        counts = [_count(servers.databases[name]) for name in ("api", "api-100k")]
        small_runs, large_runs = _scale_runs(
            (base["api"], "s500/", TOKEN), (large_base, "s50000/", TOKEN)
        )
        print(f"# make bench, {time.strftime('%Y-%m-%d')}, {_machine()}")
        pinned = " (own core)" if PIN_LOAD else ""
        print(f"# {CONNECTIONS} connections, {SECONDS}s per run, median of {ROUNDS} interleaved "
              f"runs per app, wrk on loopback{pinned}, {database_label()}")  # fmt: skip
        # For each reference app (ceiling: the same store without Connexion; limit: the
        # driver alone), `÷`: the median over the rounds of api/reference throughput
        # within a round, where both ran back to back, so that the machine's drift between
        # rounds cancels out. `ms cpu`: each server's CPU time per answer (user and system),
        # which time spent waiting does not move. `–`: the app does not serve it (yet).
        print(f"{'operation':<18}{'api req/s':>10}{'ms cpu':>7}{'p99 ms':>8}"
              f"{'ceiling':>9}{'ms cpu':>7}{'÷':>6}{'limit':>8}{'ms cpu':>7}{'÷':>6}"
              f"{'range':>11}  unexpected")  # fmt: skip
        api_runs = {}
        for operation in selected:
            if operation not in serving:
                serving[operation] = warm_up(operation)
            runs: dict[str, list[dict]] = {name: [] for name in serving[operation]}
            for round_ in range(ROUNDS):
                # Alternate which app goes first, so none always runs on a warmer machine.
                order = sorted(runs) if round_ % 2 else sorted(runs, reverse=True)
                for name in order:
                    prefix = run_prefix(f"{name[0]}{round_}")
                    database = servers.databases[name]
                    run = run_operation(base[name], operation, prefix, servers[name], database)
                    runs[name].append(run)
            api_runs[operation] = runs.get("api", [])
            print(_comparison_row(operation, runs))
        memory["after the comparison"] = memory_kib(servers["api"])[0]
        _print_workers(folder, servers, api_runs)
        for operation in ("list", "retrieve"):
            small, large = small_runs[operation], large_runs[operation]
            was, now = f"at {counts[0]:,}", f"at {counts[1]:,}"
            print(_growth(f"scale {operation:<9}", small, large, was, now))
        for name, url in large_bases.items():
            many, one = _scale_runs(
                (url, "s50000/", MANY_GRANTS_TOKEN), (url, "s50000/", ONE_GRANT_TOKEN)
            )
            for operation in ("list", "retrieve"):
                label = f"grants {operation:<8} ({name.removesuffix('-100k')})"
                growth = _growth(label, one[operation], many[operation], "with 1 grant",
                                 "with 10,000 grants")  # fmt: skip
                print(growth + (", target within 1.5x" if name == "api-100k" else ""))
        peak = memory_kib(servers["api"])[1]
        print("api memory (RSS): " + ", ".join(f"{kib / 1024:.0f} MiB {when}"
              for when, kib in memory.items()) + f"; peak {peak / 1024:.0f} MiB")  # fmt: skip
        now, peak = memory_kib(servers["api-100k"])
        print(f"api memory at 100k (RSS): {now / 1024:.0f} MiB after its runs; "
              f"peak {peak / 1024:.0f} MiB")  # fmt: skip
    return 0


def _comparison_row(operation: str, runs: dict[str, list[dict]]) -> str:
    """The table's line for one operation; `–` for an app that does not serve it."""
    medians = {name: _median(found) for name, found in runs.items()}

    def ratios(reference: str) -> list[float]:
        if "api" not in runs or reference not in runs:
            return []
        pairs = zip(runs["api"], runs[reference], strict=True)
        return sorted(mine["rps"] / theirs["rps"] for mine, theirs in pairs)

    def figures(name: str, width: int) -> str:
        found = medians.get(name)
        if found is None:
            return f"{'–':>{width}}{'–':>7}"
        return f"{found['rps']:>{width}.0f}{found['cpu_us'] / 1000:>7.2f}"

    def middle(values: list[float]) -> str:
        return f"{values[len(values) // 2]:>6.2f}" if values else f"{'–':>6}"

    api = medians.get("api")
    to_ceiling, to_limit = ratios("ceiling"), ratios("limit")
    spread = f"{to_limit[0]:.2f}–{to_limit[-1]:.2f}" if to_limit else "–"
    bad = "/".join(str(medians[n]["bad"]) if n in medians else "–"
                   for n in ("api", "ceiling", "limit"))  # fmt: skip
    sockets = api["socket_errors"] if api else ""
    p99 = f"{api['p99']:>8.1f}" if api else f"{'–':>8}"
    return (f"{operation:<18}{figures('api', 10)}{p99}"
            f"{figures('ceiling', 9)}{middle(to_ceiling)}{figures('limit', 8)}"
            f"{middle(to_limit)}{spread:>11}  {bad}"
            f"{'  sockets: ' + sockets if sockets else ''}")  # fmt: skip


def _print_workers(folder: Path, servers: Servers, one_worker: dict[str, list[dict]]) -> None:
    """The API with WORKERS processes, alone on a database like the others' at the
    start, under the same load; beside the one-worker figures of the table above. Its
    CPU time is its processes' together."""
    name = f"api-{WORKERS}w"
    base = prepare(folder, servers, ("api",), suffix=f"-{WORKERS}w", workers=WORKERS)[name]
    for operation in WORKERS_OPERATIONS:  # warm-up
        run_operation(base, operation, run_prefix("w"), servers[name], servers.databases[name], 1)
    print(f"# the api with WORKERS={WORKERS} (CPU: all its processes), beside one worker's "
          f"figures above")  # fmt: skip
    print(f"{'operation':<18}{'1 worker':>10}{'ms cpu':>7}{f'{WORKERS} workers':>11}"
          f"{'ms cpu':>7}{'×':>6}{'p99 ms':>8}  unexpected")  # fmt: skip
    for operation in WORKERS_OPERATIONS:
        runs = [
            run_operation(base, operation, run_prefix(f"m{round_}"), servers[name],
                          servers.databases[name])
            for round_ in range(ROUNDS)
        ]  # fmt: skip
        many = _median(runs)
        single = _median(one_worker[operation]) if one_worker.get(operation) else None
        before = (f"{single['rps']:>10.0f}{single['cpu_us'] / 1000:>7.2f}" if single
                  else f"{'–':>10}{'–':>7}")  # fmt: skip
        gain = f"{many['rps'] / single['rps']:>6.2f}" if single else f"{'–':>6}"
        print(f"{operation:<18}{before}{many['rps']:>11.0f}{many['cpu_us'] / 1000:>7.2f}"
              f"{gain}{many['p99']:>8.1f}  {many['bad']}")  # fmt: skip


def _growth(label: str, before: list[dict], after: list[dict], was: str, now: str) -> str:
    """p50/p99 in two situations, and the p99's growth: the median of the rounds'
    ratios, as the throughput ratio is."""
    first, second = _median(before), _median(after)
    growths = sorted(b["p99"] / a["p99"] for a, b in zip(before, after, strict=True))
    growth = growths[len(growths) // 2]
    bad = first["bad"] + second["bad"]
    return (f"{label} p50/p99 {was}: {first['p50']:.1f}/{first['p99']:.1f} ms, {now}: "
            f"{second['p50']:.1f}/{second['p99']:.1f} ms (p99 {growth:.2f}x)"
            f"{f'; {bad} unexpected statuses' if bad else ''}")  # fmt: skip


def _scale_runs(*servers: tuple[str, str, str]) -> list[dict[str, list[dict]]]:
    """List and retrieve runs on each server (its sources URL, the source it retrieves,
    the caller's key), the servers alternating within each round."""
    runs = [{"list": [], "retrieve": []} for _ in servers]
    for round_ in range(ROUNDS):
        order = range(len(servers))
        for index in reversed(order) if round_ % 2 else order:
            base, retrieved, token = servers[index]
            runs[index]["list"].append(wrk(base + "?page_size=20", token=token))
            # Let the answers still queued from the list go out first (slow lists would
            # otherwise land in the retrieve's latency).
            time.sleep(SETTLE_SECONDS)
            runs[index]["retrieve"].append(wrk(base + retrieved, token=token))
            time.sleep(SETTLE_SECONDS)
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


if __name__ == "__main__":
    sys.exit(main())
