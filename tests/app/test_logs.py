"""app/logs.py: one structured line per request, in JSON or text, with its request id;
the start-up lines; no line states a status the client did not get."""

import json
import re

import httpx
import pytest

from tests.helpers import AUTH, TOKEN
from tests.server import started_server


def _serve_and_call(url: str, tmp_path, log_format: str, token: str = TOKEN) -> str:
    log_path = tmp_path / f"{log_format}.log"
    with log_path.open("w") as log, started_server(
        url, token, log=log, log_level="info", env={"LOG_FORMAT": log_format}
    ) as (base, _process):  # fmt: skip
        api = f"{base}/api/v3/sources/plex/"
        httpx.get(api, headers={**AUTH, "X-Request-ID": "trace-1"}).raise_for_status()
        assert httpx.get(api, headers={"X-Request-ID": "trace-2"}).status_code == 403
    return log_path.read_text()


def test_json_lines_carry_the_request_fields(tmp_path):
    printed = _serve_and_call(f"sqlite:///{tmp_path / 'api.sqlite3'}", tmp_path, "json")
    lines = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    assert lines and len(lines) == len(printed.splitlines())  # every line is JSON
    requests = [line for line in lines if line["logger"] == "app.requests"]
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]  # one line each
    (listed,) = [line for line in requests if line["request_id"] == "trace-1"]
    assert listed["logger"] == "app.requests" and listed["level"] == "info"
    assert (listed["method"], listed["path"], listed["operation"], listed["status"]) == (
        "GET", "/api/v3/sources/plex/", "sources_plex_list", 200,
    )  # fmt: skip
    assert listed["user"] == "akadmin" and listed["duration_ms"] >= 0
    assert listed["timestamp"].endswith("Z")
    refused = [line for line in requests if line["request_id"] == "trace-2"]
    assert [line["status"] for line in refused] == [403]
    # Connexion's own "Aborting with 401" is not passed on (uvicorn's lines name the
    # server's process id, which may hold those digits too).
    assert "401" not in re.sub(r"process \[\d+\]", "", printed)
    assert any("Serving the API at http://127.0.0.1:" in line["message"] for line in lines)


def test_text_lines_for_a_terminal(tmp_path):
    printed = _serve_and_call(f"sqlite:///{tmp_path / 'api.sqlite3'}", tmp_path, "text")
    (line,) = [line for line in printed.splitlines() if "app.requests [trace-1]" in line]
    assert " INFO    app.requests [trace-1] GET sources_plex_list 200 " in line
    assert line.endswith("user=akadmin")


@pytest.mark.parametrize("token", [""])
def test_a_warning_when_nobody_can_authenticate(tmp_path, token):
    log_path = tmp_path / "server.log"
    with (
        log_path.open("w") as log,
        started_server(f"sqlite:///{tmp_path / 'api.sqlite3'}", token, log=log, log_level="info"),
    ):
        pass
    assert "WARNING app [-] No user exists and BOOTSTRAP_TOKEN is not set" in log_path.read_text()
