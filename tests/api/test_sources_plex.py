"""Each Plex source operation: exact status codes, bodies and stored state."""

import re
import uuid

from sqlalchemy import insert

from models.sources import PropertyMapping, user_property_mappings
from tests.helpers import count_rows, make_source

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# Keys of a PlexSource, in authentik's serializer order.
SOURCE_KEYS = [
    "pk", "name", "slug", "enabled", "promoted", "authentication_flow", "enrollment_flow",
    "user_property_mappings", "group_property_mappings", "component", "verbose_name",
    "verbose_name_plural", "meta_model_name", "policy_engine_mode", "user_matching_mode",
    "managed", "user_path_template", "icon", "icon_url", "icon_themed_urls",
    "group_matching_mode", "client_id", "allowed_servers", "allow_friends", "plex_token",
]  # fmt: skip


def test_create_applies_authentik_defaults(api, store):
    response = api.post("/sources/plex/", json={"name": "n", "slug": "s1", "plex_token": "t"})

    assert response.status_code == 201
    body = response.json()
    assert list(body) == SOURCE_KEYS
    assert UUID_RE.match(body["pk"])
    assert re.fullmatch(r"[A-Za-z0-9]{40}", body["client_id"])
    assert body == {
        "pk": body["pk"],
        "name": "n",
        "slug": "s1",
        "enabled": True,
        "promoted": False,
        "authentication_flow": None,
        "enrollment_flow": None,
        "user_property_mappings": [],
        "group_property_mappings": [],
        "component": "ak-source-plex-form",
        "verbose_name": "Plex Source",
        "verbose_name_plural": "Plex Sources",
        "meta_model_name": "authentik_sources_plex.plexsource",
        "policy_engine_mode": "any",
        "user_matching_mode": "identifier",
        "managed": None,
        "user_path_template": "goauthentik.io/sources/%(slug)s",
        "icon": "",
        "icon_url": "/static/authentik/sources/plex.svg",
        "icon_themed_urls": None,
        "group_matching_mode": "identifier",
        "client_id": body["client_id"],
        "allowed_servers": [],
        "allow_friends": True,
        "plex_token": "t",
    }
    assert count_rows(store, "plex_source") == 1


def test_create_stores_every_writable_field(api):
    fields = {
        "name": "Home Plex",
        "slug": "home-plex_2",
        "enabled": False,
        "promoted": True,
        "authentication_flow": None,
        "enrollment_flow": None,
        "user_property_mappings": [],
        "group_property_mappings": [],
        "policy_engine_mode": "all",
        "user_matching_mode": "email_link",
        "user_path_template": "plex/%(slug)s",
        "icon": "https://example.org/plex-%(theme)s.svg",
        "group_matching_mode": "name_deny",
        "client_id": "my-client",
        "allowed_servers": ["server-a", "server-b"],
        "allow_friends": False,
        "plex_token": "owner-token",
    }
    created = api.post("/sources/plex/", json=fields).json()
    fetched = api.get("/sources/plex/home-plex_2/").json()

    assert fetched == created
    for key, value in fields.items():
        assert fetched[key] == value, key
    assert fetched["icon_url"] == "https://example.org/plex-%(theme)s.svg"
    assert fetched["icon_themed_urls"] == {
        "light": "https://example.org/plex-light.svg",
        "dark": "https://example.org/plex-dark.svg",
    }


def test_create_ignores_read_only_and_unknown_keys(api):
    body = make_source(
        api,
        pk="00000000-0000-0000-0000-000000000001",
        component="x",
        managed="goauthentik.io/x",
        icon_url="http://evil",
        unknown="ignored",
    )
    assert body["pk"] != "00000000-0000-0000-0000-000000000001"
    assert body["component"] == "ak-source-plex-form"
    assert body["managed"] is None
    assert body["icon_url"] == "/static/authentik/sources/plex.svg"
    assert "unknown" not in body


def test_icon_file_name_is_served_from_media(api):
    body = make_source(api, icon="sources/plex.png")
    assert body["icon_url"] == "/media/sources/plex.png"
    assert body["icon_themed_urls"] is None


def test_retrieve(api):
    created = make_source(api)
    response = api.get("/sources/plex/plex/")
    assert response.status_code == 200
    assert response.json() == created


def test_retrieve_unknown_slug_is_404(api):
    response = api.get("/sources/plex/nope/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No PlexSource matches the given query."}


def test_update_replaces_given_fields_and_keeps_omitted_ones(api):
    created = make_source(api, allowed_servers=["a"], promoted=True)
    response = api.put(
        "/sources/plex/plex/",
        json={"name": "Renamed", "slug": "renamed", "plex_token": "new-token"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["slug"] == "renamed"
    assert body["plex_token"] == "new-token"
    # PUT keeps what it does not mention, as DRF's ModelSerializer does.
    assert body["allowed_servers"] == ["a"]
    assert body["promoted"] is True
    assert body["pk"] == created["pk"]
    assert body["client_id"] == created["client_id"]
    assert api.get("/sources/plex/plex/").status_code == 404
    assert api.get("/sources/plex/renamed/").json() == body


def test_update_requires_name_slug_and_token(api):
    make_source(api)
    response = api.put("/sources/plex/plex/", json={"name": "only"})
    assert response.status_code == 400
    assert response.json() == {
        "slug": ["This field is required."],
        "plex_token": ["This field is required."],
    }


def test_update_may_keep_its_own_slug(api):
    make_source(api)
    response = api.put(
        "/sources/plex/plex/", json={"name": "Plex", "slug": "plex", "plex_token": "t2"}
    )
    assert response.status_code == 200
    assert response.json()["plex_token"] == "t2"


def test_update_unknown_slug_is_404(api):
    response = api.put("/sources/plex/nope/", json={"name": "a", "slug": "b", "plex_token": "c"})
    assert response.status_code == 404
    assert response.json() == {"detail": "No PlexSource matches the given query."}


def test_unknown_slug_is_404_whatever_the_body(api):
    # DRF looks the object up before it reads the body.
    for response in (
        api.put("/sources/plex/nope/", json={}),
        api.patch("/sources/plex/nope/", json={"name": ""}),
        api.patch("/sources/plex/nope/", content=b"x", headers={"Content-Type": "text/plain"}),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "No PlexSource matches the given query."}


def test_partial_update_changes_only_given_fields(api):
    created = make_source(api)
    response = api.patch("/sources/plex/plex/", json={"enabled": False, "allowed_servers": ["x"]})

    assert response.status_code == 200
    assert response.json() == {**created, "enabled": False, "allowed_servers": ["x"]}
    assert api.get("/sources/plex/plex/").json() == response.json()


def test_partial_update_with_empty_body_changes_nothing(api):
    created = make_source(api)
    response = api.patch("/sources/plex/plex/")
    assert response.status_code == 200
    assert response.json() == created


def test_partial_update_to_a_taken_slug_is_400(api):
    make_source(api)
    make_source(api, slug="other")
    response = api.patch("/sources/plex/other/", json={"slug": "plex"})
    assert response.status_code == 400
    assert response.json() == {"slug": ["source with this slug already exists."]}
    assert api.get("/sources/plex/other/").status_code == 200


def test_destroy(api, store):
    make_source(api)
    response = api.delete("/sources/plex/plex/")

    assert response.status_code == 204
    assert response.content == b""
    assert count_rows(store, "plex_source") == 0
    assert api.get("/sources/plex/plex/").status_code == 404


def test_destroy_unknown_slug_is_404(api):
    response = api.delete("/sources/plex/nope/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No PlexSource matches the given query."}


def test_used_by_of_a_fresh_source_is_empty(api):
    make_source(api)
    response = api.get("/sources/plex/plex/used_by/")
    assert response.status_code == 200
    assert response.json() == []


def test_used_by_lists_the_sources_property_mappings(api, store):
    mapping_pk = uuid.uuid4()
    with store.engine.begin() as connection:
        connection.execute(
            insert(PropertyMapping.__table__).values(
                pm_uuid=mapping_pk, name="Plex email", expression="return {}"
            )
        )
    make_source(api, user_property_mappings=[str(mapping_pk)])

    response = api.get("/sources/plex/plex/used_by/")

    assert response.status_code == 200
    assert response.json() == [
        {
            "app": "authentik_core",
            "model_name": "propertymapping",
            "pk": str(mapping_pk),
            "name": "Property Mapping Plex email",
            "action": "cascade_many",
        }
    ]
    assert count_rows(store, user_property_mappings.name) == 1


def test_used_by_lists_group_mappings_then_user_mappings_then_connections(api, store):
    """Each part in authentik's order: the group list, the user list (each by mapping
    pk), then the users' connections (by id); a mapping in both lists is named twice."""
    first, second = sorted(uuid.uuid4() for _ in range(2))
    with store.engine.begin() as connection:
        for pk, name in ((first, "first"), (second, "second")):
            connection.execute(
                insert(PropertyMapping.__table__).values(pm_uuid=pk, name=name, expression="")
            )
    source = make_source(
        api,
        group_property_mappings=[str(second), str(first)],
        user_property_mappings=[str(second)],
    )
    links = []
    for number, name in enumerate(("alice", "bob"), start=1):
        store.create_user(name)
        user_id = store.identity_for_token(store.create_token(f"{name}-token", name)).user_id
        store.link_plex_account(user_id, uuid.UUID(source["pk"]), str(number), f"plex-{name}")
        links.append(user_id)
    connections = api.get("/sources/user_connections/plex/").json()["results"]

    response = api.get("/sources/plex/plex/used_by/")

    def mapping(pk, name):
        return {"app": "authentik_core", "model_name": "propertymapping", "pk": str(pk),
                "name": f"Property Mapping {name}", "action": "cascade_many"}  # fmt: skip

    assert response.status_code == 200
    assert response.json() == [
        mapping(first, "first"),
        mapping(second, "second"),
        mapping(second, "second"),
        *(
            {
                "app": "authentik_core",
                "model_name": "usersourceconnection",
                "pk": str(c["pk"]),
                "name": f"User-source connection (user={c['user']}, source={source['pk']})",
                "action": "cascade",
            }  # fmt: skip
            for c in sorted(connections, key=lambda c: c["pk"])
        ),
    ]
    assert sorted(c["user"] for c in connections) == links


def test_used_by_unknown_slug_is_404(api):
    response = api.get("/sources/plex/nope/used_by/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No PlexSource matches the given query."}


def test_delete_cascades_to_mapping_links(api, store):
    mapping_pk = uuid.uuid4()
    with store.engine.begin() as connection:
        connection.execute(
            insert(PropertyMapping.__table__).values(pm_uuid=mapping_pk, name="m", expression="")
        )
    make_source(api, group_property_mappings=[str(mapping_pk), str(mapping_pk)])
    assert count_rows(store, "source_group_property_mapping") == 1

    api.delete("/sources/plex/plex/")

    assert count_rows(store, "source_group_property_mapping") == 0
    assert count_rows(store, "property_mapping") == 1
