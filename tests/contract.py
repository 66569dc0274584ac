"""`make contract`: the production command on a free loopback port with a fresh database,
a bootstrap token and plex.tv played on loopback; the schemathesis CLI against it with
every phase and check, a fixed seed and a bounded budget; a JUnit report in
build/contract/. Exits with schemathesis's status."""

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


def schemathesis_command(
    server: str, report_dir: Path, *options: str, token: str | None, before_run=()
) -> list[str]:
    """The schemathesis CLI against `server` with every check, the committed baseline, a
    fixed seed and JUnit and NDJSON reports. `token` authenticates as that key; None
    leaves credentials to `before_run` (CLI options placed before `run`)."""
    credentials = () if token is None else ("--header", f"Authorization: Bearer {token}")
    return [
        str(Path(sys.executable).parent / "st"),
        *before_run,
        "run",
        f"{server}/api/v3/openapi.json",
        *credentials,
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
                    schemathesis_command(base, REPORTS, *phases, *budget, token=token)
                )
    finally:
        plex.close()


if __name__ == "__main__":
    sys.exit(main())
