"""`/sources/user_connections/plex/` and the Plex token health check."""

import re
import uuid
from datetime import datetime

import pytest

from app.admin import main as plex_admin
from tests.helpers import count_rows, make_source

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
def linked(api, store):
    """Two users, each with a Plex connection to the `plex` source, and their keys."""
    source = make_source(api)
    keys = {}
    for number, name in enumerate(("alice", "bob"), start=1):
        store.create_user(name)
        keys[name] = store.create_token(f"{name}-token", name)
        user_id = store.identity_for_token(keys[name]).user_id
        store.link_plex_account(
            user_id, uuid.UUID(source["pk"]), str(1000 + number), f"plex-{name}"
        )
    return source, keys


def test_superuser_lists_every_connection(api, linked):
    source, _ = linked
    body = api.get("/sources/user_connections/plex/").json()
    assert [c["identifier"] for c in body["results"]] == ["1001", "1002"]
    first = body["results"][0]
    assert list(first) == [
        "pk", "user", "source", "source_obj", "identifier", "created", "last_updated",
    ]  # fmt: skip
    assert first["source"] == source["pk"]
    assert first["source_obj"] == {k: source[k] for k in list(source)[:20]}
    assert DATETIME.match(first["created"]) and DATETIME.match(first["last_updated"])
    assert "plex_token" not in first


def test_owners_see_their_own(anon, linked):
    _, keys = linked
    for name, identifier in (("alice", "1001"), ("bob", "1002")):
        headers = {"Authorization": f"Bearer {keys[name]}"}
        listed = anon.get("/sources/user_connections/plex/", headers=headers).json()["results"]
        assert [c["identifier"] for c in listed] == [identifier]
    alice = {"Authorization": f"Bearer {keys['alice']}"}
    bobs = anon.get(
        "/sources/user_connections/plex/", headers={"Authorization": f"Bearer {keys['bob']}"}
    ).json()
    bob_pk = bobs["results"][0]["pk"]
    response = anon.get(f"/sources/user_connections/plex/{bob_pk}/", headers=alice)
    assert response.status_code == 404
    assert response.json() == {"detail": "No UserPlexSourceConnection matches the given query."}
    own = anon.patch(
        f"/sources/user_connections/plex/{bob_pk - 1}/", headers=alice, json={"identifier": "9"}
    )
    assert own.status_code == 200
    assert own.json()["identifier"] == "9"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("search=alice", ["1001"]),
        ("search=100", ["1001", "1002"]),
        ("source__slug=plex", ["1001", "1002"]),
        ("source__slug=other", []),
        ("ordering=-identifier", ["1002", "1001"]),
    ],
)
def test_filters(api, linked, query, expected):
    listed = api.get(f"/sources/user_connections/plex/?{query}").json()["results"]
    assert [c["identifier"] for c in listed] == expected


def test_filter_by_user(api, store, linked):
    _, keys = linked
    bob = store.identity_for_token(keys["bob"]).user_id
    listed = api.get(f"/sources/user_connections/plex/?user={bob}").json()["results"]
    assert [c["user"] for c in listed] == [bob]


def test_update_delete_and_used_by(api, store, linked):
    source, _ = linked
    first = api.get("/sources/user_connections/plex/").json()["results"][0]
    url = f"/sources/user_connections/plex/{first['pk']}/"
    put = api.put(url, json={"source": source["pk"], "identifier": "42", "plex_token": "new"})
    assert put.status_code == 200
    assert put.json()["identifier"] == "42"
    assert "plex_token" not in put.json()
    missing = api.put(url, json={"identifier": "42"})
    assert missing.json() == {
        "source": ["This field is required."],
        "plex_token": ["This field is required."],
    }
    assert api.get(url + "used_by/").json() == []
    assert {
        "app": "authentik_core",
        "model_name": "usersourceconnection",
        "pk": str(first["pk"]),
        "name": f"User-source connection (user={first['user']}, source={source['pk']})",
        "action": "cascade",
    } in api.get("/sources/plex/plex/used_by/").json()
    assert api.delete(url).status_code == 204
    assert count_rows(store, "user_plex_source_connection") == 1
    assert api.get(url).status_code == 404


def test_deleting_a_source_deletes_its_connections(api, store, linked):
    assert api.delete("/sources/plex/plex/").status_code == 204
    assert count_rows(store, "user_plex_source_connection") == 0


@pytest.mark.parametrize("flavour", ["async"])
def test_token_health_check(api, store, fake_plex, monkeypatch, capsys):
    fake_plex.add_account("good-token", id=1)
    make_source(api, slug="good", plex_token="good-token")
    make_source(api, name="Revoked", slug="revoked", plex_token="revoked-token")
    monkeypatch.setenv("DATABASE_URL", store.url)
    monkeypatch.setenv("PLEX_API_URL", fake_plex.url)
    monkeypatch.setenv("PLEX_TIMEOUT", "1")

    assert plex_admin(["plex", "check-tokens"]) == 1
    assert capsys.readouterr().out == (
        "good\tok\nrevoked\tinvalid: plex.tv answered 401 to /api/v2/user\n"
    )
    events = store.list_events("configuration_error")
    assert [(e["message"], e["context"]["source"]["name"]) for e in events] == [
        ("Plex token invalid, please re-authenticate source.\n"
         "plex.tv answered 401 to /api/v2/user", "Revoked"),
    ]  # fmt: skip
    assert all("revoked-token" not in str(event) for event in events)

    assert plex_admin(["events", "list", "--action", "configuration_error"]) == 0
    listed = capsys.readouterr().out
    assert "configuration_error\tPlex token invalid, please re-authenticate source. | " in listed

    fake_plex.add_account("revoked-token", id=2)
    assert plex_admin(["plex", "check-tokens"]) == 0
    assert len(store.list_events("configuration_error")) == 1


@pytest.mark.parametrize("value", ["99999999999999999999", "3000000000", "-2147483649"])
def test_ids_past_the_columns_range_match_nothing(api, linked, value):
    # Found by schemathesis: SQLite and PostgreSQL refuse such integers (a 500).
    listed = api.get(f"/sources/user_connections/plex/?user={value}")
    assert listed.status_code == 200
    assert listed.json()["results"] == []
    response = api.get(f"/sources/user_connections/plex/{value.lstrip('-')}/")
    assert response.status_code == 404


def test_a_user_has_one_connection_per_source(api, store, linked):
    """Moving a connection onto a source its user is already connected to is a 400, not
    the database's unique constraint (a 500)."""
    source, keys = linked
    other = make_source(api, slug="other")
    alice = store.identity_for_token(keys["alice"]).user_id
    store.link_plex_account(alice, uuid.UUID(other["pk"]), "1001", "plex-alice")
    mine = api.get(f"/sources/user_connections/plex/?user={alice}&source__slug=other").json()
    url = f"/sources/user_connections/plex/{mine['results'][0]['pk']}/"
    response = api.patch(url, json={"source": source["pk"]})
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["The fields user, source must make a unique set."]
    }
    assert count_rows(store, "user_plex_source_connection") == 3


def test_every_update_sets_last_updated(api, linked):
    """As authentik's auto_now: a PATCH that changes no value still sets last_updated."""
    first = api.get("/sources/user_connections/plex/").json()["results"][0]
    url = f"/sources/user_connections/plex/{first['pk']}/"
    patched = api.patch(url, json={"identifier": first["identifier"]})
    assert patched.status_code == 200
    assert patched.json()["identifier"] == first["identifier"]
    assert patched.json()["created"] == first["created"]
    moment = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    assert moment(patched.json()["last_updated"]) > moment(first["last_updated"])
    assert api.get(url).json() == patched.json()
