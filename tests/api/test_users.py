"""`/core/users/`: users as authentik's API serves them, and `/core/users/me/`."""

import hashlib
import json
import re
import uuid

import pytest
from sqlalchemy import select

from models.identity import Group, InstallId
from tests.helpers import make_source

MISSING = "7a9e3c51-2b4d-4e6f-8a1c-3d5e7f9b0c2d"
DEEP: list = []  # `attributes` of 65 levels: one past the bound
for _ in range(63):
    DEEP = [DEEP]
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
USER_FIELDS = [
    "pk", "username", "name", "is_active", "last_login", "date_joined", "is_superuser",
    "groups", "groups_obj", "roles", "roles_obj", "email", "avatar", "attributes", "uid",
    "path", "type", "uuid", "password_change_date", "last_updated",
]  # fmt: skip


def install_id(store) -> str:
    with store.engine.connect() as connection:
        return str(connection.scalar(select(InstallId.id)))


def make_user(api, **fields) -> dict:
    response = api.post("/core/users/", json={"username": "bob", "name": "Bob", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_create_answers_authentik_fields_and_defaults(api, store):
    created = make_user(api, email="bob@example.com", attributes={"team": "media"})
    assert list(created) == USER_FIELDS
    pk = created["pk"]
    assert created == {
        **created,
        "username": "bob",
        "name": "Bob",
        "is_active": True,
        "last_login": None,
        "is_superuser": False,
        "groups": [],
        "groups_obj": [],
        "roles": [],
        "roles_obj": [],
        "email": "bob@example.com",
        "avatar": "/static/dist/assets/images/user_default.png",
        "attributes": {"team": "media"},
        "uid": hashlib.sha256(f"{pk}-{install_id(store)}".encode()).hexdigest(),
        "path": "users",
        "type": "internal",
    }
    uuid.UUID(created["uuid"])
    for name in ("date_joined", "password_change_date", "last_updated"):
        assert DATETIME.match(created[name]), name
    assert api.get(f"/core/users/{pk}/").json() == created


def test_superuser_comes_from_a_superuser_group(api, store):
    admins = store.list_groups()[0]  # the bootstrap token's `authentik Admins`
    assert admins["superuser"] is True
    listed = api.get("/core/users/?username=akadmin").json()["results"]
    (akadmin,) = listed
    assert akadmin["is_superuser"] is True
    (group,) = akadmin["groups_obj"]
    assert group["name"] == "authentik Admins"
    assert group["is_superuser"] is True
    assert group["attributes"] == {}
    assert group["num_pk"] == int(str(uuid.UUID(group["pk"]).int)[:5])
    assert akadmin["groups"] == [group["pk"]]


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"path": "/users"}, {"path": ["No leading or trailing slashes allowed."]}),
        ({"path": "users/"}, {"path": ["No leading or trailing slashes allowed."]}),
        ({"path": "a//b"}, {"path": ["No empty segments in user path allowed."]}),
        ({"email": "not-an-address"}, {"email": ["Enter a valid email address."]}),
        (
            {"type": "internal_service_account"},
            {"type": ["Setting a user to internal service account is not allowed."]},
        ),
        ({"groups": [MISSING]}, {"groups": [f'Invalid pk "{MISSING}" - object does not exist.']}),
        ({"roles": [MISSING]}, {"roles": [f'Invalid pk "{MISSING}" - object does not exist.']}),
        (
            {"last_login": "2026-12-31T23:59:60Z"},
            {"last_login": [
                "Datetime has wrong format. Use one of these formats instead: "
                "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
            ]},
        ),
    ],
)  # fmt: skip
def test_create_refuses_with_authentiks_words(api, fields, errors):
    response = api.post("/core/users/", json={"username": "bob", "name": "Bob", **fields})
    assert response.status_code == 400
    assert response.json() == errors
    assert api.get("/core/users/?username=bob").json()["results"] == []


def test_username_is_unique_and_required(api):
    make_user(api)
    again = api.post("/core/users/", json={"username": "bob", "name": "Other"})
    assert again.status_code == 400
    assert again.json() == {"username": ["This field must be unique."]}
    missing = api.post("/core/users/", json={})
    assert missing.status_code == 400
    assert missing.json() == {
        "username": ["This field is required."],
        "name": ["This field is required."],
    }


def group_pk(store, name: str) -> str:
    with store.engine.connect() as connection:
        return str(connection.scalar(select(Group.group_uuid).where(Group.name == name)))


def test_put_empties_groups_it_does_not_name_and_patch_keeps_them(api, store):
    store.create_group("media")
    group = group_pk(store, "media")
    user = make_user(api, groups=[group])
    assert user["groups"] == [group]
    assert user["groups_obj"][0]["name"] == "media"
    patched = api.patch(f"/core/users/{user['pk']}/", json={"name": "Robert"}).json()
    assert (patched["name"], patched["groups"]) == ("Robert", [group])
    put = api.put(f"/core/users/{user['pk']}/", json={"username": "bob", "name": "Bob"}).json()
    assert put["groups"] == []
    assert put["last_updated"] > user["last_updated"]


@pytest.fixture
def people(api, store):
    """akadmin, and three users with different fields."""
    store.create_group("media")
    alice = make_user(api, username="alice", name="Alice", email="alice@example.com",
                      path="users/media", attributes={"plex": True, "seat": 3})  # fmt: skip
    bob = make_user(api, username="bob", name="Bob", type="external", path="guests")
    carol = make_user(api, username="carol", name="Carol", attributes={"plex": False})
    store.add_to_group("alice", "media")
    return {"alice": alice, "bob": bob, "carol": carol}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["akadmin", "alice", "bob", "carol"]),
        ("username=bob", ["bob"]),
        ("search=EXAMPLE.com", ["alice"]),
        ("search=car", ["carol"]),
        ("is_superuser=true", ["akadmin"]),
        ("is_superuser=false", ["alice", "bob", "carol"]),
        ("groups_by_name=media", ["alice"]),
        ("groups_by_name=media&groups_by_name=authentik%20Admins", ["akadmin", "alice"]),
        ("type=external", ["bob"]),
        ("type=external&type=internal", ["akadmin", "alice", "bob", "carol"]),
        ("path=guests", ["bob"]),
        ("path_startswith=users", ["akadmin", "alice", "carol"]),
        ("attributes=%7B%22plex%22%3A%20true%7D", ["alice"]),
        ("attributes=%7B%22plex%22%3A%20false%7D", ["carol"]),
        ("attributes=%7B%22seat%22%3A%203%2C%20%22plex%22%3A%20true%7D", ["alice"]),
        ("attributes=%7B%22seat%22%3A%20%223%22%7D", []),
        ("last_login__isnull=true", ["akadmin", "alice", "bob", "carol"]),
        ("ordering=-username", ["carol", "bob", "alice", "akadmin"]),
        ("is_active=false", []),
    ],
)
def test_list_filters_search_and_ordering(api, people, query, expected):
    response = api.get(f"/core/users/?{query}")
    assert response.status_code == 200, response.text
    assert [u["username"] for u in response.json()["results"]] == expected


def test_search_finds_a_user_by_its_uuid(api, people):
    alice = people["alice"]
    listed = api.get(f"/core/users/?search={alice['uuid'][:13]}").json()["results"]
    assert [u["username"] for u in listed] == ["alice"]
    by_uuid = api.get(f"/core/users/?uuid={alice['uuid']}").json()["results"]
    assert [u["pk"] for u in by_uuid] == [alice["pk"]]


def test_dates_filter(api, people):
    joined = people["bob"]["date_joined"]
    after = api.get("/core/users/", params={"date_joined__gt": joined}).json()["results"]
    assert [u["username"] for u in after] == ["carol"]
    exact = api.get("/core/users/", params={"date_joined": joined}).json()["results"]
    assert [u["username"] for u in exact] == ["bob"]


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("attributes=nope", {"attributes": ["filter: failed to parse JSON"]}),
        ("attributes=%5B1%5D", {"attributes": ["filter: value must be key:value mapping"]}),
        (
            "groups_by_name=nobody",
            {"groups_by_name": [
                "Select a valid choice. nobody is not one of the available choices."
            ]},
        ),
        ("date_joined__gt=yesterday", {"date_joined__gt": ["Enter a valid date/time."]}),
        (
            "type=robot",
            {"type": ["Select a valid choice. robot is not one of the available choices."]},
        ),
    ],
)  # fmt: skip
def test_list_refuses_bad_filters(api, people, query, errors):
    response = api.get(f"/core/users/?{query}")
    assert response.status_code == 400
    assert response.json() == errors


def test_include_groups_and_roles_false_leave_the_objects_out(api, people):
    listed = api.get("/core/users/?include_groups=false&include_roles=false&username=alice")
    (alice,) = listed.json()["results"]
    assert alice["groups_obj"] is None and alice["roles_obj"] is None
    assert len(alice["groups"]) == 1 and alice["roles"] == []


def test_permissions_decide_what_is_seen_and_changed(api, anon, store, people):
    key = store.create_token("alice-key", "alice")
    alice = bearer(key)
    assert anon.get("/core/users/", headers=alice).status_code == 403
    # Not even itself, without a permission: that is what `me` is for.
    own = anon.get(f"/core/users/{people['alice']['pk']}/", headers=alice)
    assert own.status_code == 404
    assert own.json() == {"detail": "No User matches the given query."}
    store.grant("authentik_core.view_user", user="alice", obj=str(people["bob"]["pk"]))
    listed = anon.get("/core/users/", headers=alice).json()["results"]
    assert [u["username"] for u in listed] == ["bob"]
    denied = anon.patch(f"/core/users/{people['bob']['pk']}/", headers=alice, json={"name": "B"})
    assert denied.status_code == 403
    assert denied.json() == {"detail": "You do not have permission to perform this action."}
    assert api.get(f"/core/users/{people['bob']['pk']}/").json()["name"] == "Bob"
    store.grant("authentik_core.add_user", user="alice")
    created = anon.post("/core/users/", headers=alice, json={"username": "dave", "name": "D"})
    assert created.status_code == 201


def test_me_answers_the_caller(anon, store, people):
    key = store.create_token("alice-key", "alice")
    response = anon.get("/core/users/me/", headers=bearer(key))
    assert response.status_code == 200
    body = response.json()
    alice = people["alice"]
    me = {
        "pk": alice["pk"],
        "username": "alice",
        "name": "Alice",
        "is_active": True,
        "is_superuser": False,
        "is_current": True,
        "groups": [{"name": "media", "pk": body["user"]["groups"][0]["pk"]}],
        "roles": [],
        "email": "alice@example.com",
        "avatar": "/static/dist/assets/images/user_default.png",
        "uid": alice["uid"],
        "settings": {},
        "type": "internal",
        "system_permissions": [],
    }
    assert body == {"user": me, "users": [me]}
    assert anon.get("/core/users/me/").status_code == 403


def test_used_by_lists_tokens_and_plex_connections(api, store, people):
    source = make_source(api)
    alice = people["alice"]
    store.create_token("alice-key", "alice")
    store.link_plex_account(alice["pk"], uuid.UUID(source["pk"]), "1001", "plex-alice")
    (token,) = api.get("/core/tokens/?identifier=alice-key").json()["results"]
    (connection,) = api.get("/sources/user_connections/plex/").json()["results"]
    assert api.get(f"/core/users/{alice['pk']}/used_by/").json() == [
        {"app": "authentik_core", "model_name": "token", "pk": token["pk"],
         "name": "alice-key", "action": "cascade"},
        {"app": "authentik_core", "model_name": "usersourceconnection",
         "pk": str(connection["pk"]),
         "name": f"User-source connection (user={alice['pk']}, source={source['pk']})",
         "action": "cascade"},
    ]  # fmt: skip


def test_destroy_removes_the_user_and_its_tokens(api, anon, store, people):
    key = store.create_token("bob-key", "bob")
    assert anon.get("/core/users/me/", headers=bearer(key)).status_code == 200
    pk = people["bob"]["pk"]
    assert api.delete(f"/core/users/{pk}/").status_code == 204
    assert api.get(f"/core/users/{pk}/").status_code == 404
    refused = anon.get("/core/users/me/", headers=bearer(key))
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Token invalid/expired"}
    assert api.get("/core/tokens/?identifier=bob-key").json()["results"] == []


def test_deactivated_users_are_refused(api, anon, store, people):
    key = store.create_token("bob-key", "bob")
    patched = api.patch(f"/core/users/{people['bob']['pk']}/", json={"is_active": False})
    assert patched.json()["is_active"] is False
    refused = anon.get("/core/users/me/", headers=bearer(key))
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Token invalid/expired"}


def test_unknown_and_out_of_range_ids_are_404(api):
    for pk in ("999999", "99999999999999"):
        response = api.get(f"/core/users/{pk}/")
        assert response.status_code == 404
        assert response.json() == {"detail": "No User matches the given query."}


def test_me_answers_405_with_its_own_methods(api):
    """Found by schemathesis: the Allow header named `/core/users/{id}/`'s methods."""
    response = api.delete("/core/users/me/")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json() == {"detail": 'Method "DELETE" not allowed.'}


@pytest.mark.parametrize(
    "attributes",
    [{"big": 2**64}, {"text": "a\x00b"}, {"nested": [{"\ud800": 1}]}, {"deep": DEEP}],
    ids=["64-bit", "nul", "surrogate", "65-levels"],
)
def test_attributes_that_cannot_be_stored_are_a_400(api, attributes):
    """Found by schemathesis: an integer past 64 bits in `attributes` was stored, and
    its answer could not be encoded (500). In review: so was nesting past the encoder's
    depth (300 levels), or past Python's own stack (900)."""
    body = json.dumps({"username": "odd", "name": "Odd", "attributes": attributes})
    response = api.post(
        "/core/users/", content=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"attributes": ["Value must be valid JSON."]}
    assert api.get("/core/users/?username=odd").json()["results"] == []
