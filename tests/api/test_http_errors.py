"""Errors outside the body's fields: credentials, routing, media types, sizes, parsing.
Each is DRF-shaped `{"detail": ...}` JSON, never problem+json, never a 500."""

import pytest

from app.validation import MAX_BODY_BYTES
from tests.helpers import count_rows, make_source

JSON = {"Content-Type": "application/json"}
OPERATIONS = [
    ("GET", "/sources/plex/"),
    ("POST", "/sources/plex/"),
    ("GET", "/sources/plex/plex/"),
    ("PUT", "/sources/plex/plex/"),
    ("PATCH", "/sources/plex/plex/"),
    ("DELETE", "/sources/plex/plex/"),
    ("GET", "/sources/plex/plex/used_by/"),
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_credentials_is_403(anon, api, method, path):
    make_source(api)
    response = anon.request(method, path, json={"name": "x", "slug": "y", "plex_token": "z"})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/json"
    assert "www-authenticate" not in response.headers
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert api.get("/sources/plex/plex/").json()["name"] == "Plex"


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc", "bearer"]
)
def test_unusable_authorization_header_is_unauthenticated(anon, header):
    response = anon.get("/sources/plex/", headers={"Authorization": header})
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_wrong_token_is_403(anon, method, path):
    response = anon.request(method, path, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 403
    assert response.json() == {"detail": "Token invalid/expired"}


def test_bearer_scheme_is_case_insensitive(anon):
    response = anon.get("/sources/plex/", headers={"Authorization": "bEaReR test-bootstrap-key"})
    assert response.status_code == 200


def test_credentials_are_checked_before_the_body(anon, store):
    response = anon.post("/sources/plex/", content=b"{not json", headers=JSON)
    assert response.status_code == 403
    assert count_rows(store, "plex_source") == 0


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("TRACE", "/sources/plex/", "GET, POST"),
        ("PUT", "/sources/plex/", "GET, POST"),
        ("DELETE", "/sources/plex/", "GET, POST"),
        ("POST", "/sources/plex/plex/", "GET, PUT, PATCH, DELETE"),
        ("POST", "/sources/plex/plex/used_by/", "GET"),
        ("DELETE", "/sources/plex/plex/used_by/", "GET"),
    ],
)
def test_undeclared_method_is_405_with_allow(api, method, path, allow):
    response = api.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}


@pytest.mark.parametrize("path", ["/nothing/", "/sources/plex/a/b/c/", "/sources/"])
def test_unknown_path_is_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_missing_trailing_slash_redirects_to_the_slashed_url(api):
    response = api.get("/sources/plex", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "http://testserver/api/v3/sources/plex/"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_non_json_body_is_415(api, store, content_type):
    response = api.post("/sources/plex/", content=b"name=x", headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert response.json() == {"detail": f'Unsupported media type "{content_type}" in request.'}
    assert count_rows(store, "plex_source") == 0


def test_media_type_answers_do_not_depend_on_earlier_requests(api, store):
    """Accepted media types are remembered per operation (app/framework/operations.py); a refused
    one is refused every time, before and after others were accepted."""
    for attempt in range(2):
        refused = api.post("/sources/plex/", content=b"x", headers={"Content-Type": "text/csv"})
        assert refused.status_code == 415
        body = {"name": "n", "slug": f"s{attempt}", "plex_token": "t"}
        assert api.post("/sources/plex/", json=body).status_code == 201
    assert count_rows(store, "plex_source") == 2


def test_json_with_charset_is_accepted(api):
    response = api.post(
        "/sources/plex/",
        content=b'{"name": "n", "slug": "s", "plex_token": "t"}',
        headers={"Content-Type": "application/json; charset=unknown-charset"},
    )
    assert response.status_code == 201


def test_malformed_json_is_400(api, store):
    response = api.post("/sources/plex/", content=b'{"name": ', headers=JSON)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - Expecting value: line 1 column 10 (char 9)"
    }
    assert count_rows(store, "plex_source") == 0


def test_non_utf8_body_is_400(api, store):
    response = api.post("/sources/plex/", content=b'{"name": "\xff"}', headers=JSON)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - 'utf-8' codec can't decode byte 0xff in position 10: "
        "invalid start byte"
    }


def test_oversized_body_is_413(api, store):
    padding = "x" * MAX_BODY_BYTES
    response = api.post(
        "/sources/plex/", json={"name": "n", "slug": "s", "plex_token": "t", "pad": padding}
    )
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"Request body exceeds the limit of {MAX_BODY_BYTES} bytes."
    }
    assert count_rows(store, "plex_source") == 0


def test_oversized_chunked_body_is_413(api, store):
    def chunks():
        yield b'{"name": "n", "slug": "s", "plex_token": "t", "pad": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    response = api.post("/sources/plex/", content=chunks(), headers=JSON)
    assert response.status_code == 413
    assert count_rows(store, "plex_source") == 0


def test_slug_with_nul_in_path_is_404(api):
    response = api.get("/sources/plex/a%00b/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No PlexSource matches the given query."}


@pytest.mark.parametrize(
    "path",
    ["/sources/plex/%0Aabc/", "/sources/plex/abc%0A/", "/sources/plex/a%0Ab/used_by/"],
)
def test_path_connexion_cannot_route_is_404_in_both_flavours(api, path):
    # Found by schemathesis: Werkzeug routed these to a handler Connexion had not
    # prepared, which crashed the Flask flavour with a 500.
    response = api.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_chunked_body_without_length_is_read(api):
    def chunks():
        yield b'{"name": "n", '
        yield b'"slug": "chunked", "plex_token": "t"}'

    response = api.post("/sources/plex/", content=chunks(), headers=JSON)
    assert response.status_code == 201
    assert response.json()["slug"] == "chunked"


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_head_and_options_never_crash(api, method):
    response = api.request(method, "/sources/plex/")
    assert response.status_code in (200, 405)
