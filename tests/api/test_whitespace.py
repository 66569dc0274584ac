"""Text as DRF's CharField treats it: whitespace alone is blank, and surrounding
whitespace is not stored; the spec's checks (lengths, patterns) apply to the value as
sent, so that nothing the spec refuses is accepted. On every request body."""

import pytest

from tests.fake_plex import OWNER_ID, RESOURCES
from tests.helpers import make_flow, make_mapping, make_source

BLANK = ["This field may not be blank."]
SOURCE = {"name": "n", "slug": "s", "plex_token": "t"}
FLOW = {"name": "n", "slug": "f", "title": "t", "designation": "authentication"}


@pytest.mark.parametrize("field", ["name", "slug", "plex_token", "client_id"])
def test_source_whitespace_alone_is_blank(api, store, field):
    response = api.post("/sources/plex/", json={**SOURCE, field: " \t\n "})
    assert response.status_code == 400
    assert response.json() == {field: BLANK}
    assert api.get("/sources/plex/").json()["pagination"]["count"] == 0


def test_source_text_is_stored_trimmed(api):
    created = make_source(
        api,
        name="  Home  ",
        slug="home",
        plex_token="\ttoken\n",
        client_id=" client ",
        user_path_template=" users/plex ",
        allowed_servers=[" one ", "two  "],
    )
    stored = api.get("/sources/plex/home/").json()
    for answer in (created, stored):
        assert answer["name"] == "Home"
        assert answer["plex_token"] == "token"
        assert answer["client_id"] == "client"
        assert answer["user_path_template"] == "users/plex"
        assert answer["allowed_servers"] == ["one", "two"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", " home ", 'Enter a valid "slug" consisting of letters, numbers, underscores '
                           "or hyphens."),
        ("name", " " + "n" * 1024, "Ensure this field has no more than 1024 characters."),
    ],
)  # fmt: skip
def test_the_specs_checks_apply_to_the_value_as_sent(api, field, value, message):
    response = api.post("/sources/plex/", json={**SOURCE, field: value})
    assert response.status_code == 400
    assert response.json() == {field: [message]}


def test_source_patch_is_trimmed_too(api):
    make_source(api)
    response = api.patch("/sources/plex/plex/", json={"name": "  Renamed "})
    assert response.status_code == 200
    assert api.get("/sources/plex/plex/").json()["name"] == "Renamed"
    assert api.patch("/sources/plex/plex/", json={"name": "   "}).json() == {"name": BLANK}


@pytest.mark.parametrize("field", ["name", "slug", "title"])
def test_flow_whitespace_alone_is_blank(api, field):
    response = api.post("/flows/instances/", json={**FLOW, field: "   "})
    assert response.status_code == 400
    assert response.json() == {field: BLANK}


def test_flow_text_is_stored_trimmed(api):
    make_flow(api, name=" Login ", slug="login", title=" Welcome ", background="bg.jpg")
    stored = api.get("/flows/instances/login/").json()
    assert (stored["name"], stored["title"], stored["background"]) == ("Login", "Welcome", "bg.jpg")


def test_mapping_whitespace_alone_is_blank(api):
    response = api.post("/propertymappings/source/plex/", json={"name": "  ", "expression": "x"})
    assert response.status_code == 400
    assert response.json() == {"name": BLANK}


def test_mapping_text_is_stored_trimmed(api):
    created = make_mapping(api, name=" Email ", expression="\n return {} \n")
    stored = api.get(f"/propertymappings/source/plex/{created['pk']}/").json()
    assert (stored["name"], stored["expression"]) == ("Email", "return {}")


@pytest.mark.parametrize(
    "path", ["/sources/plex/redeem_token/", "/sources/plex/redeem_token_authenticated/"]
)
def test_redeem_whitespace_alone_is_blank(api, fake_plex, path):
    make_source(api)
    response = api.post(f"{path}?slug=plex", json={"plex_token": "   "})
    assert response.status_code == 400
    assert response.json() == {"plex_token": BLANK}
    assert fake_plex.requests == []  # nothing was asked of plex.tv


@pytest.mark.parametrize(
    "path", ["/sources/plex/redeem_token/", "/sources/plex/redeem_token_authenticated/"]
)
def test_redeem_sends_the_trimmed_token(api, fake_plex, path):
    fake_plex.add_account("owner-token", id=OWNER_ID)
    fake_plex.add_account("user-token", id=OWNER_ID + 1, resources=RESOURCES)
    flow = make_flow(api, slug="enrol", designation="enrollment")
    make_source(api, plex_token="owner-token", enrollment_flow=flow["pk"], allow_friends=False)
    response = api.post(f"{path}?slug=plex", json={"plex_token": "  user-token \n"})
    assert response.status_code in (200, 204), response.text
    sent = {request["headers"]["X-Plex-Token"] for request in fake_plex.requests}
    assert sent == {"user-token"}
