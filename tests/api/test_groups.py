"""`/core/groups/`: groups and their members, as authentik's API serves them."""

import uuid

import pytest

from tests.api.test_users import MISSING, bearer, make_user

GROUP_FIELDS = [
    "pk", "num_pk", "name", "is_superuser", "parents", "parents_obj", "users", "users_obj",
    "attributes", "roles", "roles_obj", "inherited_roles_obj", "children", "children_obj",
]  # fmt: skip
SUPERUSER_TRUE = "User does not have permission to set superuser status to True."


def make_group(api, **fields) -> dict:
    response = api.post("/core/groups/", json={"name": "Family", **fields})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def people(api):
    return make_user(api, username="alice", name="Alice"), make_user(api, username="bob")


def test_create_answers_authentik_fields(api, people):
    alice, bob = people
    created = make_group(api, users=[bob["pk"], alice["pk"]], attributes={"plex": True})
    assert list(created) == GROUP_FIELDS
    pk = created["pk"]
    assert created["num_pk"] == int(str(uuid.UUID(pk).int)[:5])
    assert created["users"] == sorted([alice["pk"], bob["pk"]])
    assert [u["username"] for u in created["users_obj"]] == ["alice", "bob"]
    assert created["users_obj"][0] == {
        key: alice[key]
        for key in ("pk", "username", "name", "is_active", "last_login", "email",
                    "attributes", "uid")
    }  # fmt: skip
    assert (created["is_superuser"], created["attributes"]) == (False, {"plex": True})
    assert (created["parents"], created["roles"], created["roles_obj"], created["children"]) == (
        [],
        [],
        [],
        [],
    )
    # Only what include_* asks for: members by default; not children, parents, roles.
    assert created["children_obj"] is None and created["parents_obj"] is None
    assert created["inherited_roles_obj"] is None
    fetched = api.get(f"/core/groups/{pk}/?include_children=true&include_users=false").json()
    assert (fetched["children_obj"], fetched["users_obj"]) == ([], None)
    member = api.get(f"/core/users/{alice['pk']}/").json()
    assert [g["name"] for g in member["groups_obj"]] == ["Family"]


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"users": [999999]}, {"users": ['Invalid pk "999999" - object does not exist.']}),
        (
            {"parents": [MISSING]},
            {"parents": [
                "Group hierarchies are not supported by this server: parents must be empty."
            ]},
        ),
        ({"roles": [MISSING]}, {"roles": [f'Invalid pk "{MISSING}" - object does not exist.']}),
        ({"name": "authentik Admins"}, {"name": ["Group with this name already exists."]}),
    ],
)  # fmt: skip
def test_create_refuses_with_authentiks_words(api, fields, errors):
    response = api.post("/core/groups/", json={"name": "Family", **fields})
    assert response.status_code == 400
    assert response.json() == errors
    assert api.get("/core/groups/?name=Family").json()["results"] == []


def test_put_empties_members_it_does_not_name(api, people):
    alice, _ = people
    group = make_group(api, users=[alice["pk"]])
    patched = api.patch(f"/core/groups/{group['pk']}/", json={"attributes": {"a": 1}}).json()
    assert patched["users"] == [alice["pk"]]
    put = api.put(f"/core/groups/{group['pk']}/", json={"name": "Family"}).json()
    assert put["users"] == []


def test_superuser_flag_needs_its_own_permission(api, anon, store):
    store.create_user("carol")
    for codename in ("add_group", "change_group", "view_group"):
        store.grant(f"authentik_core.{codename}", user="carol")
    carol = bearer(store.create_token("carol-key", "carol"))
    refused = anon.post("/core/groups/", headers=carol, json={"name": "Ops", "is_superuser": True})
    assert refused.status_code == 400
    assert refused.json() == {"is_superuser": [SUPERUSER_TRUE]}
    ops = anon.post("/core/groups/", headers=carol, json={"name": "Ops"}).json()
    again = anon.patch(f"/core/groups/{ops['pk']}/", headers=carol, json={"is_superuser": True})
    assert again.json() == {"is_superuser": [SUPERUSER_TRUE]}
    unchanged = anon.patch(
        f"/core/groups/{ops['pk']}/", headers=carol, json={"is_superuser": False}
    )
    assert unchanged.status_code == 200
    store.grant("authentik_core.enable_group_superuser", user="carol", obj=ops["pk"])
    allowed = anon.patch(f"/core/groups/{ops['pk']}/", headers=carol, json={"is_superuser": True})
    assert allowed.status_code == 200 and allowed.json()["is_superuser"] is True


def test_add_and_remove_user(api, anon, store, people):
    alice, bob = people
    group = make_group(api)
    url = f"/core/groups/{group['pk']}"
    added = api.post(f"{url}/add_user/", json={"pk": alice["pk"]})
    assert (added.status_code, added.content) == (204, b"")
    assert api.post(f"{url}/add_user/", json={"pk": alice["pk"]}).status_code == 204  # again
    assert api.get(f"{url}/").json()["users"] == [alice["pk"]]
    missing = api.post(f"{url}/add_user/", json={"pk": 999999})
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No User matches the given query."}
    assert api.post(f"{url}/remove_user/", json={"pk": alice["pk"]}).status_code == 204
    assert api.post(f"{url}/remove_user/", json={"pk": bob["pk"]}).status_code == 204  # no-op
    assert api.get(f"{url}/").json()["users"] == []

    # Someone else needs the permission, and may add only users it can see.
    store.create_user("carol")
    store.grant("authentik_core.view_group", user="carol")
    carol = bearer(store.create_token("carol-key", "carol"))
    denied = anon.post(f"{url}/add_user/", headers=carol, json={"pk": alice["pk"]})
    assert denied.status_code == 403
    store.grant("authentik_core.add_user_to_group", user="carol", obj=group["pk"])
    unseen = anon.post(f"{url}/add_user/", headers=carol, json={"pk": alice["pk"]})
    assert unseen.status_code == 404
    store.grant("authentik_core.view_user", user="carol", obj=str(alice["pk"]))
    assert anon.post(f"{url}/add_user/", headers=carol, json={"pk": alice["pk"]}).status_code == 204


def test_superuser_membership_makes_superusers(api, anon, store, people):
    alice, _ = people
    key = bearer(store.create_token("alice-key", "alice"))
    assert anon.get("/core/groups/", headers=key).status_code == 403
    admins = api.get("/core/groups/?name=authentik%20Admins").json()["results"][0]
    api.post(f"/core/groups/{admins['pk']}/add_user/", json={"pk": alice["pk"]})
    assert anon.get("/core/users/me/", headers=key).json()["user"]["is_superuser"] is True
    assert anon.get("/core/groups/", headers=key).status_code == 200


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["admins2", "authentik Admins", "family"]),
        ("name=family", ["family"]),
        ("search=ADMIN", ["admins2", "authentik Admins"]),
        ("is_superuser=true", ["authentik Admins"]),
        ("members_by_username=alice", ["family"]),
        ("members_by_username=alice&members_by_username=akadmin", ["authentik Admins", "family"]),
        ("attributes=%7B%22plex%22%3A%20true%7D", ["family"]),
        ("ordering=-name", ["family", "authentik Admins", "admins2"]),
    ],
)
def test_list_filters_search_and_ordering(api, people, query, expected):
    """(Names that sort alike in bytes and in PostgreSQL's collation.)"""
    alice, _ = people
    make_group(api, name="family", users=[alice["pk"]], attributes={"plex": True})
    make_group(api, name="admins2")
    response = api.get(f"/core/groups/?{query}")
    assert response.status_code == 200, response.text
    assert [g["name"] for g in response.json()["results"]] == expected


def test_members_by_an_unknown_username_is_a_400(api):
    response = api.get("/core/groups/?members_by_username=ghost")
    assert response.status_code == 400
    assert response.json() == {
        "members_by_username": ["Select a valid choice. ghost is not one of the available choices."]
    }


def test_used_by_and_destroy(api, people):
    alice, bob = people
    group = make_group(api, users=[alice["pk"], bob["pk"]])
    assert api.get(f"/core/groups/{group['pk']}/used_by/").json() == [
        {"app": "authentik_core", "model_name": "user", "pk": str(u["pk"]),
         "name": u["username"], "action": "cascade_many"}
        for u in (alice, bob)
    ]  # fmt: skip
    assert api.delete(f"/core/groups/{group['pk']}/").status_code == 204
    assert api.get(f"/core/groups/{group['pk']}/").status_code == 404
    assert api.get(f"/core/users/{alice['pk']}/").json()["groups"] == []
