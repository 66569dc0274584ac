"""app/service.py: the probes, metrics, request ids and authentik's addresses around the
API, none of which needs a token."""

import re

import httpx
import pytest
import yaml

from app.config import Settings
from app.main import create_app
from tests.helpers import AUTH, TOKEN
from tests.server import started_server


def test_liveness_and_readiness(anon):
    assert anon.get("http://testserver/-/health/live/").status_code == 200
    ready = anon.get("http://testserver/-/health/ready/")
    assert (ready.status_code, ready.content) == (200, b"")


@pytest.mark.parametrize("flavour", ["async", "flask"])
def test_not_ready_without_a_database(tmp_path, flavour):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/gone/api.sqlite3",
                        app_flavour=flavour, bootstrap_token=None)  # fmt: skip
    app = create_app(settings)
    with app.test_client() as client:
        assert client.get("/-/health/live/").status_code == 200
        ready = client.get("/-/health/ready/")
    assert ready.status_code == 503
    assert ready.json() == {"detail": "The database cannot be reached: OperationalError"}


def _count(metrics: str, operation: str, status: str) -> float:
    pattern = (rf'plex_api_requests_total\{{method="GET",operation="{operation}",'
               rf'status="{status}"\}} ([0-9.e+]+)')  # fmt: skip
    found = re.search(pattern, metrics)
    return float(found.group(1)) if found else 0.0


def test_metrics_count_requests_by_operation_and_status(api, anon):
    before = api.get("http://testserver/-/metrics/").text
    for _ in range(3):
        api.get("/sources/plex/")
    anon.get("/sources/plex/")
    after = api.get("http://testserver/-/metrics/")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    assert (
        _count(text, "sources_plex_list", "200") - _count(before, "sources_plex_list", "200") == 3
    )
    assert (
        _count(text, "sources_plex_list", "403") - _count(before, "sources_plex_list", "403") == 1
    )
    assert 'plex_api_request_seconds_bucket{le="0.005",operation="sources_plex_list"}' in text
    assert "plex_api_database_connections_in_use" in text


def test_metrics_count_a_method_no_client_should_send_as_other(api):
    """Each label set is a metric the process keeps for good: a method of the client's
    own invention must not add one."""
    other = r'plex_api_requests_total\{method="other",operation="unrouted",status="405"\} (\S+)'

    def counted(metrics: str) -> float:
        found = re.search(other, metrics)
        return float(found.group(1)) if found else 0.0

    before = counted(api.get("http://testserver/-/metrics/").text)
    for method in ("BREW", "WHEN", "BREW"):
        assert api.request(method, "/sources/plex/").status_code == 405
    text = api.get("http://testserver/-/metrics/").text
    assert "BREW" not in text and "WHEN" not in text
    assert counted(text) - before == 3


def test_metrics_add_up_across_workers(store):
    with started_server(store.url, TOKEN, workers=2) as (base, _process):
        for _ in range(10):
            httpx.get(f"{base}/api/v3/sources/plex/", headers=AUTH).raise_for_status()
        metrics = httpx.get(f"{base}/-/metrics/").text
    assert _count(metrics, "sources_plex_list", "200") == 10


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [("abc-123", True), ("x" * 128, True), ("x" * 129, False), ("a b", False), ("<b>", False)],
)
def test_request_ids_are_echoed_when_safe_else_made(api, sent, echoed):
    answer = api.get("/sources/plex/", headers={"X-Request-ID": sent})
    if echoed:
        assert answer.headers["x-request-id"] == sent
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])


def test_a_request_id_is_made_when_none_is_sent(api):
    first, second = (api.get("/sources/plex/").headers["x-request-id"] for _ in "ab")
    assert first != second and re.fullmatch(r"[0-9a-f]{32}", first)


def test_authentiks_addresses(anon):
    for path in ("http://testserver/", "http://testserver/api/v3/", "http://testserver/api/v3"):
        answer = anon.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (302, "/api/v3/ui/")
    as_yaml = anon.get("/schema/")
    assert as_yaml.headers["content-type"].startswith("application/vnd.oai.openapi")
    spec = yaml.safe_load(as_yaml.text)
    assert spec["openapi"] == "3.0.3"
    assert "x-bearerInfoFunc" not in as_yaml.text  # an implementation detail
    for answer in (anon.get("/schema/?format=json"),
                   anon.get("/schema/", headers={"Accept": "application/json"})):  # fmt: skip
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == spec


def test_swagger_ui_keeps_the_token_across_reloads(anon):
    assert 'configUrl: "swagger-ui-config.json"' in anon.get("/ui/").text
    assert anon.get("/ui/swagger-ui-config.json").json() == {"persistAuthorization": True}


def test_metrics_count_plex_logins_by_outcome(api, anon, fake_plex):
    def rejected(text: str) -> float:
        found = re.search(r'plex_api_plex_logins_total\{outcome="rejected"\} ([0-9.]+)', text)
        return float(found.group(1)) if found else 0.0

    api.post("/sources/plex/", json={"name": "n", "slug": "plex", "plex_token": "t"})
    before = rejected(api.get("http://testserver/-/metrics/").text)
    answer = anon.post("/sources/plex/redeem_token/?slug=plex", json={"plex_token": "unknown"})
    assert answer.status_code == 400
    assert rejected(api.get("http://testserver/-/metrics/").text) == before + 1
