"""`make contract`: the production command on a free loopback port with a fresh database,
a bootstrap token and plex.tv played on loopback; the schemathesis CLI against it with
every phase and check, a fixed seed and a bounded budget; a JUnit report in
build/contract/. Exits with schemathesis's status."""

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.fake_plex import FakePlex
from tests.server import running_server

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "build" / "contract"
BASELINE = ROOT / "tests" / "schemathesis-baseline.json"
CONFIG = ROOT / "tests" / "schemathesis.toml"


def schemathesis_command(
    server: str, report_dir: Path, *options: str, config: Path = CONFIG
) -> list[str]:
    """The schemathesis CLI against `server` with every check, the committed baseline, a
    fixed seed and JUnit and NDJSON reports, and the settings of `config` (ours, or a
    copy with more). Credentials come from `config` or from the hooks of
    `superuser_environment`."""
    return [
        str(Path(sys.executable).parent / "st"),
        "--config-file",
        str(config),
        "run",
        f"{server}/api/v3/openapi.json",
        "--checks",
        "all",
        "--seed",
        "20261128",
        "--request-timeout",
        "10",
        "--continue-on-failure",
        "--baseline",
        str(BASELINE),
        "--report",
        "junit,ndjson",
        "--report-dir",
        str(report_dir),
        *options,
    ]


def superuser_environment(database_url: str, token: str) -> dict[str, str]:
    """The environment of a schemathesis run as the bootstrap superuser: its key, kept
    working through the run by tests/schemathesis_hooks.py."""
    return {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
        "FUZZ_DATABASE_URL": database_url,
        "FUZZ_BOOTSTRAP_TOKEN": token,
    }


def main() -> int:
    token = secrets.token_urlsafe(32)
    plex = FakePlex()
    try:
        with tempfile.TemporaryDirectory() as folder:
            database = f"sqlite:///{Path(folder) / 'contract.sqlite3'}"
            with running_server(database, token, plex_api_url=plex.url) as base:
                phases = ("--phases", "examples,coverage,fuzzing,stateful")
                budget = ("--max-examples", "50")
                return subprocess.call(
                    schemathesis_command(base, REPORTS, *phases, *budget),
                    env=superuser_environment(database, token),
                    cwd=ROOT,
                )
    finally:
        plex.close()


if __name__ == "__main__":
    sys.exit(main())
