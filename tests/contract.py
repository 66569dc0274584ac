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


def main() -> int:
    token = secrets.token_urlsafe(32)
    plex = FakePlex()
    try:
        with tempfile.TemporaryDirectory() as folder:
            database = f"sqlite:///{Path(folder) / 'contract.sqlite3'}"
            with running_server(database, token, plex_api_url=plex.url) as base:
                return subprocess.call(
                    [
                        str(Path(sys.executable).parent / "st"),
                        "run",
                        f"{base}/api/v3/openapi.json",
                        "--header",
                        f"Authorization: Bearer {token}",
                        "--phases",
                        "examples,coverage,fuzzing,stateful",
                        "--checks",
                        "all",
                        "--seed",
                        "20261128",
                        "--max-examples",
                        "50",
                        "--request-timeout",
                        "10",
                        "--continue-on-failure",
                        "--baseline",
                        str(BASELINE),
                        "--report",
                        "junit",
                        "--report-dir",
                        str(REPORTS),
                    ]
                )
    finally:
        plex.close()


if __name__ == "__main__":
    sys.exit(main())
