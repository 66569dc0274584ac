"""authentik's permission rules (docs/behaviour.md §4) with real identities: a superuser, a user
who may view one source, one who may view and change it, one who may only add, and one
who may do nothing."""

import pytest
from sqlalchemy import text

from tests.helpers import count_rows, make_flow, make_source

SOURCE = "authentik_sources_plex.{}_plexsource"
DENIED = {"detail": "You do not have permission to perform this action."}
NOT_FOUND = {"detail": "No PlexSource matches the given query."}


@pytest.fixture
def client_for(app, store):
    """A client authenticated as a new user holding the given grants."""
    clients = []

    def make(username, *grants, groups=()):
        store.create_user(username)
        for group in groups:
            store.add_to_group(username, group)
        for codename, obj in grants:
            store.grant(codename, user=username, obj=obj)
        key = store.create_token(f"{username}-token", username)
        client = app.test_client(
            base_url="http://testserver/api/v3", headers={"Authorization": f"Bearer {key}"}
        )
        clients.append(client.__enter__())
        return clients[-1]

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def sources(api):
    return make_source(api, slug="one", name="One"), make_source(api, slug="two", name="Two")


@pytest.fixture
def viewer(client_for, sources):
    return client_for("viewer", (SOURCE.format("view"), "one"))


@pytest.fixture
def changer(client_for, sources):
    return client_for("changer", (SOURCE.format("view"), "one"), (SOURCE.format("change"), "one"))


@pytest.fixture
def adder(client_for, sources):
    return client_for("adder", (SOURCE.format("add"), None))


@pytest.fixture
def nobody(client_for, sources):
    return client_for("nobody")


def listed(response) -> list[tuple[str, bool]]:
    assert response.status_code == 200, response.text
    return [(s["slug"], "plex_token" in s) for s in response.json()["results"]]


def test_superuser_sees_everything_with_secrets(api, sources):
    assert listed(api.get("/sources/plex/")) == [("one", True), ("two", True)]


def test_list_shows_only_what_the_caller_may_view(viewer, changer):
    assert listed(viewer.get("/sources/plex/")) == [("one", False)]
    assert listed(changer.get("/sources/plex/")) == [("one", True)]


def test_list_with_nothing_visible_is_403(nobody, adder):
    for client in (nobody, adder):
        response = client.get("/sources/plex/")
        assert response.status_code == 403
        assert response.json() == DENIED


def test_retrieve_inside_and_outside_the_visible_set(viewer, changer, sources):
    one = viewer.get("/sources/plex/one/")
    assert one.status_code == 200
    assert one.json() == {k: v for k, v in sources[0].items() if k != "plex_token"}
    assert changer.get("/sources/plex/one/").json() == sources[0]
    for client in (viewer, changer):
        response = client.get("/sources/plex/two/")
        assert response.status_code == 404
        assert response.json() == NOT_FOUND


def test_create_needs_global_add(adder, viewer, api, store):
    response = adder.post("/sources/plex/", json={"name": "n", "slug": "new", "plex_token": "t"})
    assert response.status_code == 201
    assert "plex_token" not in response.json()  # stored, but the adder may not change it
    assert api.get("/sources/plex/new/").json()["plex_token"] == "t"
    # ...and the adder cannot see what it made: no permission on it.
    assert adder.get("/sources/plex/new/").status_code == 404

    denied = viewer.post("/sources/plex/", json={"name": "n", "slug": "other", "plex_token": "t"})
    assert denied.status_code == 403
    assert denied.json() == DENIED
    assert count_rows(store, "plex_source") == 3


def test_permission_is_checked_before_the_body(nobody, viewer, store):
    response = nobody.post(
        "/sources/plex/", content=b"{broken", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 403
    assert response.json() == DENIED
    # The object's visibility and permission come first too, as DRF looks it up first.
    assert viewer.put("/sources/plex/two/", json={}).json() == NOT_FOUND
    assert viewer.patch("/sources/plex/one/", json={"name": ""}).json() == DENIED


def test_update_needs_change_on_the_object(viewer, changer, api, sources):
    patched = changer.patch("/sources/plex/one/", json={"name": "Changed"})
    assert patched.status_code == 200
    assert patched.json() == {**sources[0], "name": "Changed"}

    put = changer.put("/sources/plex/one/", json={"name": "Put", "slug": "one", "plex_token": "x"})
    assert put.status_code == 200
    assert put.json()["plex_token"] == "x"

    denied = viewer.patch("/sources/plex/one/", json={"name": "Nope"})
    assert denied.status_code == 403
    assert denied.json() == DENIED
    assert changer.patch("/sources/plex/two/", json={"name": "Nope"}).status_code == 404
    assert api.get("/sources/plex/two/").json()["name"] == "Two"


def test_change_without_view_cannot_find_the_object(client_for, sources):
    blind = client_for("blind", (SOURCE.format("change"), "one"))
    response = blind.patch("/sources/plex/one/", json={"name": "x"})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_delete_needs_delete_on_the_object(client_for, changer, store, sources):
    denied = changer.delete("/sources/plex/one/")
    assert denied.status_code == 403
    assert denied.json() == DENIED

    deleter = client_for(
        "deleter", (SOURCE.format("view"), "one"), (SOURCE.format("delete"), "one")
    )
    assert deleter.delete("/sources/plex/one/").status_code == 204
    assert count_rows(store, "plex_source") == 1
    # Grants on the deleted object go with it.
    assert [g for g in store.list_grants() if g["object"] == sources[0]["pk"]] == []


def test_global_permissions_cover_every_object(client_for, sources):
    auditor = client_for("auditor", (SOURCE.format("view"), None))
    assert listed(auditor.get("/sources/plex/")) == [("one", False), ("two", False)]
    editor = client_for("editor", (SOURCE.format("view"), None), (SOURCE.format("change"), None))
    assert listed(editor.get("/sources/plex/")) == [("one", True), ("two", True)]


def test_group_grants_and_superuser_groups(client_for, store, sources):
    store.create_group("plex viewers")
    store.grant(SOURCE.format("view"), group="plex viewers", obj="two")
    member = client_for("member", groups=["plex viewers"])
    assert listed(member.get("/sources/plex/")) == [("two", False)]

    store.create_group("admins", is_superuser=True)
    admin = client_for("admin", groups=["admins"])
    assert listed(admin.get("/sources/plex/")) == [("one", True), ("two", True)]


def test_used_by_lists_only_what_the_caller_may_view(api, viewer, nobody):
    flow = make_flow(api)
    api.patch("/sources/plex/one/", json={"authentication_flow": flow["pk"]})
    api.patch("/sources/plex/two/", json={"authentication_flow": flow["pk"]})

    everything = api.get("/flows/instances/plex-login/used_by/").json()
    assert sorted(entry["name"] for entry in everything) == ["One", "Two"]
    # used_by itself needs no permission on the flow (authentik's mixin has no filter).
    assert [e["name"] for e in viewer.get("/flows/instances/plex-login/used_by/").json()] == ["One"]
    assert nobody.get("/flows/instances/plex-login/used_by/").json() == []
    assert nobody.get("/flows/instances/nope/used_by/").status_code == 404


def test_flow_and_mapping_permissions(client_for, api):
    make_flow(api)
    flows = client_for("flows", ("authentik_flows.view_flow", None))
    assert flows.get("/flows/instances/plex-login/").status_code == 200
    assert flows.delete("/flows/instances/plex-login/").json() == DENIED
    assert flows.get("/propertymappings/source/plex/").json() == DENIED
    mapper = client_for("mapper", ("authentik_sources_plex.add_plexsourcepropertymapping", None))
    created = mapper.post("/propertymappings/source/plex/", json={"name": "m", "expression": "x"})
    assert created.status_code == 201
    assert mapper.get(f"/propertymappings/source/plex/{created.json()['pk']}/").status_code == 404


def test_inactive_user_is_rejected(client_for, store, sources):
    viewer = client_for("leaver", (SOURCE.format("view"), None))
    store.set_user_active("leaver", False)
    response = viewer.get("/sources/plex/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Token invalid/expired"}


def test_revoked_token_is_rejected(client_for, store, sources):
    viewer = client_for("revoked", (SOURCE.format("view"), None))
    store.revoke_token("revoked-token")
    assert viewer.get("/sources/plex/").json() == {"detail": "Token invalid/expired"}


def test_token_keys_are_never_stored(client_for, store):
    client = client_for("someone")
    key = client.headers["authorization"].split()[1]
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM token")).mappings().all()
    assert len(rows) == 2  # the bootstrap token and this one
    assert not any(key in str(dict(row)) for row in rows)
    assert client.get("/flows/instances/").json() == DENIED  # the key authenticates
