"""schemathesis over every operation of the running server: all phases (stateful
included), all checks. Failures the contract accepts are in the committed baseline,
each with its reason."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import TOKEN

BASELINE = Path(__file__).parent / "schemathesis-baseline.json"
SCHEMATHESIS = Path(sys.executable).parent / "st"


def test_schemathesis_finds_nothing(server, tmp_path):
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{server}/api/v3/openapi.json",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--seed",
            "20261128",
            "--max-examples",
            "40",
            "--request-timeout",
            "10",
            "--continue-on-failure",
            "--baseline",
            str(BASELINE),
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(result.stdout[-3000:])  # shown by pytest -rA, and on failure
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Failures:" not in result.stdout
    assert "✅ Stateful" in result.stdout
