"""`/core/tokens/`: API tokens made, changed and revoked through the API; their keys are
shown once and stored as digests."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models.identity import Token
from tests.api.test_users import USER_FIELDS, bearer, make_user

TOKEN_FIELDS = [
    "pk", "managed", "identifier", "intent", "user", "user_obj", "description", "expires",
    "expiring",
]  # fmt: skip


def stored_digests(store) -> set[str]:
    with store.engine.connect() as connection:
        return set(connection.scalars(select(Token.key_digest)))


def make_token(api, **fields) -> dict:
    response = api.post("/core/tokens/", json={"identifier": "automation", **fields})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def bob(api):
    return make_user(api)


def test_create_answers_the_key_once_and_stores_its_digest(api, anon, store, bob):
    created = make_token(api, user=bob["pk"], description="CI")
    assert list(created) == [*TOKEN_FIELDS, "key"]
    key = created.pop("key")
    assert len(key) == 60 and key.isalnum()
    assert created["user"] == bob["pk"]
    assert list(created["user_obj"]) == USER_FIELDS
    assert created["user_obj"]["username"] == "bob"
    assert (created["intent"], created["description"], created["expiring"]) == ("api", "CI", True)
    assert created["managed"] is None
    assert key not in str(stored_digests(store)) and Token.digest(key) in stored_digests(store)
    fetched = api.get("/core/tokens/automation/").json()
    assert fetched == created  # never the key again
    me = anon.get("/core/users/me/", headers=bearer(key)).json()
    assert me["user"]["username"] == "bob"


def test_api_tokens_expire_a_day_after_they_are_made(api, bob):
    before = datetime.now(UTC)
    created = make_token(api, user=bob["pk"], expires="2030-01-01T00:00:00Z")
    expires = datetime.fromisoformat(created["expires"])
    assert before + timedelta(days=1) <= expires <= datetime.now(UTC) + timedelta(days=1)
    app_password = make_token(
        api, identifier="mail", intent="app_password", expires="2030-01-01T00:00:00Z"
    )
    assert app_password["expires"] == "2030-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"intent": "recovery"}, {"intent": ["Invalid intent recovery"]}),
        ({"intent": "verification"}, {"intent": ["Invalid intent verification"]}),
        ({"intent": "other"}, {"intent": ['"other" is not a valid choice.']}),
        ({"identifier": "has space"}, {"identifier": [
            'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'
        ]}),
        ({"user": 999999}, {"user": ['Invalid pk "999999" - object does not exist.']}),
    ],
)  # fmt: skip
def test_create_refuses_with_authentiks_words(api, store, fields, errors):
    before = stored_digests(store)
    response = api.post("/core/tokens/", json={"identifier": "automation", **fields})
    assert response.status_code == 400
    assert response.json() == errors
    assert stored_digests(store) == before


def test_identifier_is_unique(api):
    make_token(api)
    again = api.post("/core/tokens/", json={"identifier": "automation"})
    assert again.status_code == 400
    assert again.json() == {"identifier": ["Token with this identifier already exists."]}


def test_anyone_makes_tokens_for_itself_only(api, anon, store, bob):
    store.create_user("alice")
    alice = bearer(store.create_token("alice-key", "alice"))
    response = anon.post(
        "/core/tokens/", headers=alice, json={"identifier": "mine", "user": bob["pk"]}
    )
    assert response.status_code == 201
    assert response.json()["user_obj"]["username"] == "alice"  # not bob's
    listed = anon.get("/core/tokens/", headers=alice).json()["results"]
    assert [t["identifier"] for t in listed] == ["alice-key", "mine"]
    # Holders of the global add permission make tokens for others.
    store.grant("authentik_core.add_token", user="alice")
    for_bob = anon.post(
        "/core/tokens/", headers=alice, json={"identifier": "bobs", "user": bob["pk"]}
    )
    assert for_bob.json()["user_obj"]["username"] == "bob"


def test_a_users_attribute_decides_whether_its_own_tokens_expire(api, anon, store):
    user = make_user(api, username="svc", attributes={"goauthentik.io/user/token-expires": False})
    key = store.create_token("svc-key", "svc")
    made = anon.post(
        "/core/tokens/", headers=bearer(key), json={"identifier": "svc2", "expiring": True}
    )
    assert made.json()["expiring"] is False
    assert made.json()["user"] == user["pk"]


def test_owners_see_and_change_only_their_own(api, anon, store, bob):
    make_token(api, identifier="admins")
    bob_key = store.create_token("bob-key", "bob")
    headers = bearer(bob_key)
    listed = anon.get("/core/tokens/", headers=headers).json()["results"]
    assert [t["identifier"] for t in listed] == ["bob-key"]
    other = anon.get("/core/tokens/admins/", headers=headers)
    assert other.status_code == 404
    assert other.json() == {"detail": "No Token matches the given query."}
    patched = anon.patch("/core/tokens/bob-key/", headers=headers, json={"description": "mine"})
    assert patched.status_code == 200
    assert patched.json()["description"] == "mine"
    (admin,) = api.get("/core/users/?username=akadmin").json()["results"]
    moved = anon.patch("/core/tokens/bob-key/", headers=headers, json={"user": admin["pk"]})
    assert moved.status_code == 400
    assert moved.json() == {"user": ["User cannot be changed"]}


def test_set_key_replaces_the_key(api, anon, store, bob):
    old = store.create_token("bob-key", "bob")
    response = api.post("/core/tokens/bob-key/set_key/", json={"key": "chosen-key-1234"})
    assert response.status_code == 204
    assert response.content == b""
    refused = anon.get("/core/users/me/", headers=bearer(old))
    assert refused.json() == {"detail": "Token invalid/expired"}
    me = anon.get("/core/users/me/", headers=bearer("chosen-key-1234")).json()
    assert me["user"]["username"] == "bob"


def test_set_key_needs_its_permission_even_for_owners(api, anon, store, bob):
    key = store.create_token("bob-key", "bob")
    response = anon.post(
        "/core/tokens/bob-key/set_key/", headers=bearer(key), json={"key": "another-key"}
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}
    store.grant("authentik_core.set_token_key", user="bob", obj="bob-key")
    allowed = anon.post(
        "/core/tokens/bob-key/set_key/", headers=bearer(key), json={"key": "another-key"}
    )
    assert allowed.status_code == 204


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"key": ["This field is required."]}),
        ({"key": ""}, {"key": ["This field may not be blank."]}),
        ({"key": "test-bootstrap-key"}, {"key": ["Token with this key already exists."]}),
    ],
)
def test_set_key_refuses(api, store, bob, body, errors):
    store.create_token("bob-key", "bob")
    before = stored_digests(store)
    response = api.post("/core/tokens/bob-key/set_key/", json=body)
    assert response.status_code == 400
    assert response.json() == errors
    assert stored_digests(store) == before


def test_view_key_says_why_it_cannot(api, anon, store, bob):
    key = store.create_token("bob-key", "bob")
    response = anon.get("/core/tokens/bob-key/view_key/", headers=bearer(key))
    assert response.status_code == 400
    message = response.json()["non_field_errors"][0]
    assert "stored as digests" in message and "set_key" in message
    hidden = anon.get("/core/tokens/authentik-bootstrap-token/view_key/", headers=bearer(key))
    assert hidden.status_code == 404


def test_destroy_revokes(api, anon, store, bob):
    key = store.create_token("bob-key", "bob")
    assert api.get("/core/tokens/bob-key/used_by/").json() == []
    assert anon.delete("/core/tokens/bob-key/", headers=bearer(key)).status_code == 204
    refused = anon.get("/core/users/me/", headers=bearer(key))
    assert refused.json() == {"detail": "Token invalid/expired"}
    assert api.get("/core/tokens/bob-key/").status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["authentik-bootstrap-token", "automation", "bob-key"]),
        ("user__username=bob", ["automation", "bob-key"]),
        ("search=BOB", ["automation", "bob-key"]),
        ("search=bootstrap", ["authentik-bootstrap-token"]),
        ("expiring=false", ["authentik-bootstrap-token"]),
        ("intent=app_password", ["automation"]),
        ("description=nightly", ["automation"]),
        ("ordering=-identifier", ["bob-key", "automation", "authentik-bootstrap-token"]),
    ],
)
def test_list_filters_search_and_ordering(api, store, bob, query, expected):
    make_token(api, user=bob["pk"], intent="app_password", description="nightly")
    store.create_token("bob-key", "bob", expires=datetime.now(UTC) + timedelta(days=3))
    response = api.get(f"/core/tokens/?{query}")
    assert response.status_code == 200, response.text
    assert [t["identifier"] for t in response.json()["results"]] == expected


def test_a_user_id_past_32_bits_is_a_400_not_a_crash(api, store):
    """Found by schemathesis: such a `user` reached the database, which cannot hold it."""
    before = stored_digests(store)
    response = api.post("/core/tokens/", json={"identifier": "x", "user": -(2**70)})
    assert response.status_code == 400
    assert response.json() == {
        "user": ["Ensure this value is greater than or equal to -2147483648."]
    }
    assert stored_digests(store) == before


def test_a_restart_with_the_bootstrap_token_repairs_what_the_api_changed(api, anon, store):
    """Found by schemathesis: with the bootstrap token renamed through the API, the next
    start failed on the key's unique digest. Now it finds the token by its key, and
    makes akadmin active again."""
    renamed = api.patch("/core/tokens/authentik-bootstrap-token/", json={"identifier": "mine"})
    assert renamed.status_code == 200
    (admin,) = api.get("/core/users/?username=akadmin").json()["results"]
    assert api.patch(f"/core/users/{admin['pk']}/", json={"is_active": False}).status_code == 200
    assert api.get("/core/users/me/").status_code == 403

    store.ensure_bootstrap_token("test-bootstrap-key")

    me = api.get("/core/users/me/")
    assert me.status_code == 200 and me.json()["user"]["is_superuser"] is True
    listed = api.get("/core/tokens/").json()["results"]
    assert [(t["identifier"], t["expiring"]) for t in listed] == [("mine", False)]
