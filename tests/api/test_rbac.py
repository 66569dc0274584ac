"""`/rbac/...`: roles, the permission catalogue, permissions assigned to roles and
initial permissions, as authentik's API serves them; and roles on users and groups."""

import pytest

from models.resources import PERMISSIONS
from tests.api.test_groups import make_group
from tests.api.test_users import MISSING, bearer, make_user
from tests.helpers import make_source

PLEX = "authentik_sources_plex.plexsource"
VIEW_SOURCE = "authentik_sources_plex.view_plexsource"
CHANGE_SOURCE = "authentik_sources_plex.change_plexsource"
NO_ROLE = {"detail": "No Role matches the given query."}
DENIED = {"detail": "You do not have permission to perform this action."}


def make_role(api, name="editors") -> dict:
    response = api.post("/rbac/roles/", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


def assign(api, role, permissions, **on):
    return api.post(
        f"/rbac/permissions/assigned_by_roles/{role['pk']}/assign/",
        json={"permissions": permissions, **on},
    )


def permission_id(codename: str) -> int:
    app, name = codename.split(".")
    (found,) = [p.id for p in PERMISSIONS if (p.resource.app_label, p.codename) == (app, name)]
    return found


@pytest.fixture
def alice(api, store):
    """A user without permissions, and its key's headers."""
    user = make_user(api, username="alice", name="Alice")
    return user, bearer(store.create_token("alice-key", "alice"))


def test_roles_are_made_read_changed_and_deleted(api):
    role = make_role(api)
    assert list(role) == ["pk", "name"]
    assert api.get(f"/rbac/roles/{role['pk']}/").json() == role
    taken = api.post("/rbac/roles/", json={"name": "editors"})
    assert (taken.status_code, taken.json()) == (
        400, {"name": ["Role with this name already exists."]}
    )  # fmt: skip
    renamed = api.patch(f"/rbac/roles/{role['pk']}/", json={"name": "plex editors"})
    assert renamed.json() == {"pk": role["pk"], "name": "plex editors"}
    assert api.put(f"/rbac/roles/{role['pk']}/", json={"name": "x"}).json()["name"] == "x"
    assert api.delete(f"/rbac/roles/{role['pk']}/").status_code == 204
    gone = api.get(f"/rbac/roles/{role['pk']}/")
    assert (gone.status_code, gone.json()) == (404, NO_ROLE)
    assert api.get(f"/rbac/roles/{MISSING}/").json() == NO_ROLE


def test_role_lists_filter_as_authentiks(api, store, alice):
    user, _ = alice
    editors, viewers = make_role(api, "editors"), make_role(api, "viewers")
    team = make_group(api, name="team", users=[user["pk"]], roles=[viewers["pk"]])
    store.grant(VIEW_SOURCE, user="alice")  # makes alice's managed role
    api.patch(f"/core/users/{user['pk']}/", json={"roles": [editors["pk"]]})

    def names(query=""):
        response = api.get(f"/rbac/roles/{query}")
        assert response.status_code == 200, response.text
        return [role["name"] for role in response.json()["results"]]

    managed = f"ak-managed-role--user-{user['pk']}"
    assert names() == [managed, "editors", "viewers"]
    assert names("?managed__isnull=true") == ["editors", "viewers"]
    assert names(f"?managed={managed}") == [managed]
    assert names(f"?users={user['pk']}") == [managed, "editors"]
    assert names(f"?users={user['pk']}&inherited=true") == [managed, "editors", "viewers"]
    assert names(f"?groups={team['pk']}") == ["viewers"]
    assert names("?users=999999") == []
    assert names("?search=VIEW") == ["viewers"]
    assert names("?ordering=-name&managed__isnull=true") == ["viewers", "editors"]
    assert names("?name=editors") == ["editors"]


def test_users_and_groups_carry_roles(api, store, alice):
    user, _ = alice
    editors = make_role(api, "editors")
    store.grant(VIEW_SOURCE, user="alice")
    patched = api.patch(f"/core/users/{user['pk']}/", json={"roles": [editors["pk"]]}).json()
    managed = f"ak-managed-role--user-{user['pk']}"
    assert [r["name"] for r in patched["roles_obj"]] == [managed, "editors"]
    assert patched["roles"] == [r["pk"] for r in patched["roles_obj"]]
    # A user's own managed role stays whatever its role list says.
    put = api.put(f"/core/users/{user['pk']}/", json={"username": "alice", "name": "Alice"})
    assert [r["name"] for r in put.json()["roles_obj"]] == [managed]
    assert [g["permission"] for g in store.list_grants(user="alice")] == [VIEW_SOURCE]
    unknown = api.patch(f"/core/users/{user['pk']}/", json={"roles": [MISSING]})
    assert unknown.json() == {"roles": [f'Invalid pk "{MISSING}" - object does not exist.']}
    api.patch(f"/core/users/{user['pk']}/", json={"roles": [editors["pk"]]})
    by_name = api.get("/core/users/?roles_by_name=editors").json()["results"]
    assert [u["username"] for u in by_name] == ["alice"]
    by_pk = api.get(f"/core/users/?roles_by_pk={editors['pk']}").json()["results"]
    assert [u["username"] for u in by_pk] == ["alice"]
    nobody = api.get("/core/users/?roles_by_name=nobody")
    assert nobody.status_code == 400
    group = make_group(api, roles=[editors["pk"]])
    assert group["roles_obj"] == [editors]
    assert api.patch(f"/core/groups/{group['pk']}/", json={"roles": []}).json()["roles"] == []
    me = api.get("/core/users/me/").json()["user"]
    assert me["roles"] == []


def test_a_role_given_to_a_user_gives_its_permissions(api, anon, store, alice):
    user, as_alice = alice
    source = make_source(api)
    role = make_role(api)
    assert assign(api, role, [VIEW_SOURCE, CHANGE_SOURCE], model=PLEX,
                  object_pk=source["pk"]).status_code == 200  # fmt: skip
    assert anon.get("/sources/plex/plex/", headers=as_alice).status_code == 404
    added = api.post(f"/rbac/roles/{role['pk']}/add_user/", json={"pk": user["pk"]})
    assert added.status_code == 204
    assert (
        api.post(f"/rbac/roles/{role['pk']}/add_user/", json={"pk": user["pk"]}).status_code == 204
    )
    edited = anon.patch("/sources/plex/plex/", headers=as_alice, json={"enabled": False})
    assert (edited.status_code, edited.json()["enabled"]) == (200, False)
    used_by = api.get(f"/rbac/roles/{role['pk']}/used_by/").json()
    assert used_by == [{"app": "authentik_core", "model_name": "user", "pk": str(user["pk"]),
                        "name": "alice", "action": "cascade_many"}]  # fmt: skip
    removed = api.post(f"/rbac/roles/{role['pk']}/remove_user/", json={"pk": user["pk"]})
    assert removed.status_code == 204
    assert anon.get("/sources/plex/plex/", headers=as_alice).status_code == 404
    unknown = api.post(f"/rbac/roles/{role['pk']}/add_user/", json={"pk": 999999})
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Not found."})
    # Changing who holds a role needs change_role.
    denied = anon.post(
        f"/rbac/roles/{role['pk']}/add_user/", headers=as_alice, json={"pk": user["pk"]}
    )
    assert denied.status_code == 404  # it cannot even see the role
    store.grant("authentik_rbac.view_role", user="alice", obj=role["pk"])
    denied = anon.post(
        f"/rbac/roles/{role['pk']}/add_user/", headers=as_alice, json={"pk": user["pk"]}
    )
    assert (denied.status_code, denied.json()) == (403, DENIED)


def test_the_catalogue_lists_each_permission_once(api, anon, alice):
    _, as_alice = alice
    everything = api.get("/rbac/permissions/?page_size=100").json()
    assert everything["pagination"]["count"] == len(PERMISSIONS)
    ids = [p["id"] for p in everything["results"]]
    assert sorted(ids) == list(range(1, len(PERMISSIONS) + 1))
    change = permission_id(CHANGE_SOURCE)
    expected = {
        "id": change,
        "name": "Can change Plex Source",
        "codename": "change_plexsource",
        "model": "plexsource",
        "app_label": "authentik_sources_plex",
        "app_label_verbose": "authentik Sources.Plex",
        "model_verbose": "Plex Source",
    }
    # Any authenticated caller reads it.
    found = anon.get("/rbac/permissions/?codename=change_plexsource", headers=as_alice).json()
    assert found["results"] == [expected]
    assert api.get(f"/rbac/permissions/{change}/").json() == expected
    missing = api.get("/rbac/permissions/999999/")
    assert missing.json() == {"detail": "No Permission matches the given query."}
    token_perms = api.get("/rbac/permissions/?content_type__model=token&ordering=codename")
    assert [p["codename"] for p in token_perms.json()["results"]] == [
        "add_token", "change_token", "delete_token", "set_token_key", "view_token",
        "view_token_key",
    ]  # fmt: skip
    searched = api.get("/rbac/permissions/?search=superuser").json()["results"]
    assert [p["codename"] for p in searched] == [
        "disable_group_superuser", "enable_group_superuser"
    ]  # fmt: skip
    role = make_role(api)
    assign(api, role, ["authentik_flows.add_flow"])
    held = api.get(f"/rbac/permissions/?role={role['pk']}").json()["results"]
    assert [p["codename"] for p in held] == ["add_flow"]


def test_assigned_by_roles_lists_and_changes_what_roles_hold(api):
    source, other = make_source(api), make_source(api, slug="other", name="Other")
    role, spare = make_role(api), make_role(api, "spare")
    on_source = {"model": PLEX, "object_pk": source["pk"]}
    given = assign(api, role, ["change_plexsource", VIEW_SOURCE], **on_source)
    assert given.status_code == 200, given.text
    ids = [entry["id"] for entry in given.json()]
    again = assign(api, role, [CHANGE_SOURCE], **on_source)
    assert again.json() == [{"id": ids[0]}]
    assert assign(api, role, ["authentik_sources_plex.add_plexsource"]).status_code == 200
    assign(api, spare, [VIEW_SOURCE], model=PLEX, object_pk=other["pk"])

    listed = api.get(f"/rbac/permissions/assigned_by_roles/?model={PLEX}&object_pk={source['pk']}")
    assert listed.status_code == 200, listed.text
    (entry,) = listed.json()["results"]
    assert entry == {
        "role_pk": role["pk"],
        "name": "editors",
        "object_permissions": [
            {"id": int(ids[0]), "codename": "change_plexsource", "model": "plexsource",
             "app_label": "authentik_sources_plex", "object_pk": source["pk"],
             "name": "Can change Plex Source"},
            {"id": int(ids[1]), "codename": "view_plexsource", "model": "plexsource",
             "app_label": "authentik_sources_plex", "object_pk": source["pk"],
             "name": "Can view Plex Source"},
        ],
        "model_permissions": [
            {"id": entry["model_permissions"][0]["id"], "codename": "add_plexsource",
             "model": "plexsource", "app_label": "authentik_sources_plex",
             "name": "Can add Plex Source"},
        ],
    }  # fmt: skip
    globally = api.get(f"/rbac/permissions/assigned_by_roles/?model={PLEX}").json()
    assert [r["name"] for r in globally["results"]] == ["editors"]

    unassigned = api.patch(
        f"/rbac/permissions/assigned_by_roles/{role['pk']}/unassign/",
        json={"permissions": [CHANGE_SOURCE, "view_plexsource"], **on_source},
    )
    assert unassigned.status_code == 204
    listed = api.get(f"/rbac/permissions/assigned_by_roles/?model={PLEX}&object_pk={source['pk']}")
    # Still listed: it holds a permission of the model globally.
    (entry,) = listed.json()["results"]
    assert (entry["name"], entry["object_permissions"]) == ("editors", [])
    on_other = api.get(f"/rbac/permissions/assigned_by_roles/?model={PLEX}&object_pk={other['pk']}")
    assert [r["name"] for r in on_other.json()["results"]] == ["editors", "spare"]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"permissions": [CHANGE_SOURCE], "model": PLEX},
         {"non_field_errors": ["The fields model, object_pk must be used together."]}),
        ({"permissions": ["change_plexsource"]},
         {"permissions": ["When assigning global permissions, codename must be given as "
                          "app_label.codename"]}),
        ({"permissions": ["authentik_sources_plex.fly_plexsource"]},
         {"permissions": ["Unknown permission authentik_sources_plex.fly_plexsource."]}),
        ({"permissions": ["authentik_flows.view_flow"], "model": PLEX, "object_pk": "SOURCE"},
         {"permissions": [f"Permission authentik_flows.view_flow is not a permission of {PLEX}."]}),
        ({"permissions": [VIEW_SOURCE], "model": PLEX, "object_pk": MISSING},
         {"object_pk": [f"No {PLEX} has the primary key {MISSING}."]}),
        ({"permissions": [VIEW_SOURCE], "model": PLEX, "object_pk": "not-a-uuid"},
         {"object_pk": [f"No {PLEX} has the primary key not-a-uuid."]}),
        ({"permissions": ["view_user"], "model": "authentik_core.user", "object_pk": "²"},
         {"object_pk": ["No authentik_core.user has the primary key ²."]}),
        ({"permissions": ["view_user"], "model": "authentik_core.user", "object_pk": "--5"},
         {"object_pk": ["No authentik_core.user has the primary key --5."]}),
    ],
)  # fmt: skip
def test_assign_refuses_with_clear_words(api, store, body, errors):
    source, role = make_source(api), make_role(api)
    if body.get("object_pk") == "SOURCE":
        body = {**body, "object_pk": source["pk"]}
    refused = assign(api, role, body["permissions"], **{k: v for k, v in body.items()
                                                         if k != "permissions"})  # fmt: skip
    assert (refused.status_code, refused.json()) == (400, errors)
    assert store.list_grants() == []


def test_assigning_needs_its_permission(api, anon, store, alice):
    _, as_alice = alice
    role = make_role(api)
    store.grant("authentik_rbac.view_role", user="alice", obj=role["pk"])
    denied = anon.post(
        f"/rbac/permissions/assigned_by_roles/{role['pk']}/assign/",
        headers=as_alice,
        json={"permissions": ["authentik_flows.add_flow"]},
    )
    assert (denied.status_code, denied.json()) == (403, DENIED)
    store.grant("authentik_rbac.assign_role_permissions", user="alice", obj=role["pk"])
    allowed = anon.post(
        f"/rbac/permissions/assigned_by_roles/{role['pk']}/assign/",
        headers=as_alice, json={"permissions": ["authentik_flows.add_flow"]},
    )  # fmt: skip
    assert allowed.status_code == 200
    undo = anon.patch(
        f"/rbac/permissions/assigned_by_roles/{role['pk']}/unassign/",
        headers=as_alice, json={"permissions": ["authentik_flows.add_flow"]},
    )  # fmt: skip
    assert (undo.status_code, undo.json()) == (403, DENIED)
    missing = api.get("/rbac/permissions/assigned_by_roles/")
    assert (missing.status_code, missing.json()) == (400, {"model": ["This field is required."]})


def test_initial_permissions_let_creators_see_what_they_made(api, anon, store, alice):
    user, as_alice = alice
    role = make_role(api, "creators")
    api.post(f"/rbac/roles/{role['pk']}/add_user/", json={"pk": user["pk"]})
    assign(api, role, ["authentik_sources_plex.add_plexsource"])
    body = {"name": "Plex", "slug": "first", "plex_token": "t"}
    made = anon.post("/sources/plex/", headers=as_alice, json=body)
    assert made.status_code == 201
    assert anon.get("/sources/plex/first/", headers=as_alice).status_code == 404

    wanted = [permission_id(VIEW_SOURCE), permission_id(CHANGE_SOURCE)]
    created = api.post(
        "/rbac/initial_permissions/",
        json={"name": "creators see", "role": role["pk"], "permissions": wanted},
    )
    assert created.status_code == 201, created.text
    initial = created.json()
    assert list(initial) == ["pk", "name", "role", "permissions", "permissions_obj"]
    assert (initial["role"], initial["permissions"]) == (role["pk"], sorted(wanted))
    # In the catalogue's order: view comes before change.
    assert [p["codename"] for p in initial["permissions_obj"]] == [
        "view_plexsource",
        "change_plexsource",
    ]

    made = anon.post("/sources/plex/", headers=as_alice, json={**body, "slug": "second"})
    assert made.status_code == 201
    assert anon.get("/sources/plex/second/", headers=as_alice).status_code == 200
    edited = anon.patch("/sources/plex/second/", headers=as_alice, json={"enabled": False})
    assert edited.status_code == 200
    assert anon.get("/sources/plex/first/", headers=as_alice).status_code == 404
    holders = api.get(
        f"/rbac/permissions/assigned_by_roles/?model={PLEX}&object_pk={made.json()['pk']}"
    ).json()["results"]
    assert [h["name"] for h in holders] == ["creators"]

    used_by = api.get(f"/rbac/roles/{role['pk']}/used_by/").json()
    assert [(u["model_name"], u["name"]) for u in used_by] == [
        ("user", "alice"), ("initialpermissions", f"Initial Permissions for Role #{role['pk']}.")
    ]  # fmt: skip
    taken = api.post(
        "/rbac/initial_permissions/", json={"name": "creators see", "role": role["pk"]}
    )
    assert taken.json() == {"name": ["Initial Permissions with this name already exists."]}
    bad = api.post(
        "/rbac/initial_permissions/", json={"name": "x", "role": MISSING, "permissions": [99999]}
    )
    assert bad.json() == {
        "role": [f'Invalid pk "{MISSING}" - object does not exist.'],
        "permissions": ['Invalid pk "99999" - object does not exist.'],
    }
    pk = initial["pk"]
    put = api.put(f"/rbac/initial_permissions/{pk}/", json={"name": "renamed", "role": role["pk"]})
    assert (put.json()["name"], put.json()["permissions"]) == ("renamed", [])
    patched = api.patch(f"/rbac/initial_permissions/{pk}/", json={"permissions": wanted[:1]})
    assert patched.json()["permissions"] == wanted[:1]
    assert api.get("/rbac/initial_permissions/?search=renamed").json()["pagination"]["count"] == 1
    assert api.delete(f"/rbac/initial_permissions/{pk}/").status_code == 204
    gone = api.get(f"/rbac/initial_permissions/{pk}/")
    assert gone.json() == {"detail": "No InitialPermissions matches the given query."}
