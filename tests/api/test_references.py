"""Plex sources pointing at flows and property mappings: references, deletions and
used_by in every direction."""

import uuid

from tests.helpers import count_rows, make_flow, make_mapping, make_source


def test_source_with_real_flows_and_mappings(api):
    login = make_flow(api)
    enrol = make_flow(api, slug="plex-enrol", designation="enrollment")
    email = make_mapping(api, name="email")
    groups = make_mapping(api, name="groups")

    source = make_source(
        api,
        authentication_flow=login["pk"],
        enrollment_flow=enrol["pk"],
        user_property_mappings=[email["pk"]],
        group_property_mappings=[groups["pk"], email["pk"]],
    )

    assert source["authentication_flow"] == login["pk"]
    assert source["enrollment_flow"] == enrol["pk"]
    assert source["user_property_mappings"] == [email["pk"]]
    assert sorted(source["group_property_mappings"]) == sorted([groups["pk"], email["pk"]])
    assert api.get("/sources/plex/plex/").json() == source


def test_the_first_missing_mapping_is_reported(api, store):
    email = make_mapping(api)
    missing = [str(uuid.uuid4()), str(uuid.uuid4())]
    response = api.post(
        "/sources/plex/",
        json={
            "name": "n",
            "slug": "s",
            "plex_token": "t",
            "user_property_mappings": [email["pk"], *missing],
            "authentication_flow": missing[1],
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "authentication_flow": [f'Invalid pk "{missing[1]}" - object does not exist.'],
        "user_property_mappings": [f'Invalid pk "{missing[0]}" - object does not exist.'],
    }
    assert count_rows(store, "plex_source") == 0


def test_slug_and_reference_problems_are_reported_together(api):
    make_source(api)
    ghost = str(uuid.uuid4())
    response = api.post(
        "/sources/plex/",
        json={"name": "n", "slug": "plex", "plex_token": "t", "enrollment_flow": ghost},
    )
    assert response.json() == {
        "slug": ["source with this slug already exists."],
        "enrollment_flow": [f'Invalid pk "{ghost}" - object does not exist.'],
    }


def test_deleting_a_flow_nulls_the_sources_reference(api, store):
    flow = make_flow(api)
    make_source(api, authentication_flow=flow["pk"], enrollment_flow=flow["pk"])

    assert api.delete("/flows/instances/plex-login/").status_code == 204

    source = api.get("/sources/plex/plex/").json()
    assert source["authentication_flow"] is None
    assert source["enrollment_flow"] is None
    assert count_rows(store, "plex_source") == 1


def test_deleting_a_mapping_removes_it_from_every_source(api, store):
    keep = make_mapping(api, name="keep")
    drop = make_mapping(api, name="drop")
    make_source(api, slug="one", user_property_mappings=[keep["pk"], drop["pk"]])
    make_source(api, slug="two", group_property_mappings=[drop["pk"]])

    assert api.delete(f"/propertymappings/source/plex/{drop['pk']}/").status_code == 204

    assert api.get("/sources/plex/one/").json()["user_property_mappings"] == [keep["pk"]]
    assert api.get("/sources/plex/two/").json()["group_property_mappings"] == []
    assert count_rows(store, "source_user_property_mapping") == 1
    assert count_rows(store, "source_group_property_mapping") == 0


def test_put_and_patch_lists_replace_the_set(api, store):
    a, b, c = (make_mapping(api, name=name) for name in "abc")
    make_source(api, user_property_mappings=[a["pk"], b["pk"]])

    patched = api.patch("/sources/plex/plex/", json={"user_property_mappings": [c["pk"]]})
    assert patched.json()["user_property_mappings"] == [c["pk"]]

    put = api.put(
        "/sources/plex/plex/",
        json={"name": "n", "slug": "plex", "plex_token": "t", "user_property_mappings": []},
    )
    assert put.json()["user_property_mappings"] == []
    assert count_rows(store, "source_user_property_mapping") == 0

    unchanged = api.patch("/sources/plex/plex/", json={"name": "still no mappings"})
    assert unchanged.json()["user_property_mappings"] == []


def test_patch_can_clear_a_flow(api):
    flow = make_flow(api)
    make_source(api, authentication_flow=flow["pk"])
    response = api.patch("/sources/plex/plex/", json={"authentication_flow": None})
    assert response.status_code == 200
    assert response.json()["authentication_flow"] is None


def test_filters_by_real_flows(api):
    login = make_flow(api)
    enrol = make_flow(api, slug="plex-enrol", designation="enrollment")
    make_source(api, slug="with-login", authentication_flow=login["pk"])
    make_source(api, slug="with-enrol", enrollment_flow=enrol["pk"])
    make_source(api, slug="with-none")

    def slugs(query):
        response = api.get(f"/sources/plex/?{query}")
        assert response.status_code == 200
        return [source["slug"] for source in response.json()["results"]]

    assert slugs(f"authentication_flow={login['pk']}") == ["with-login"]
    assert slugs(f"enrollment_flow={enrol['pk']}") == ["with-enrol"]
    assert slugs(f"authentication_flow={enrol['pk']}") == []


def test_used_by_in_every_direction(api):
    flow = make_flow(api)
    mapping = make_mapping(api)
    source = make_source(
        api,
        name="Home Plex",
        authentication_flow=flow["pk"],
        enrollment_flow=flow["pk"],
        user_property_mappings=[mapping["pk"]],
    )

    assert (
        api.get("/flows/instances/plex-login/used_by/").json()
        == [
            {
                "app": "authentik_core",
                "model_name": "source",
                "pk": source["pk"],
                "name": "Home Plex",
                "action": "set_null",
            }
        ]
        * 2
    )
    assert api.get("/sources/plex/plex/used_by/").json() == [
        {
            "app": "authentik_core",
            "model_name": "propertymapping",
            "pk": mapping["pk"],
            "name": "Property Mapping Plex email",
            "action": "cascade_many",
        }
    ]
    assert api.get(f"/propertymappings/source/plex/{mapping['pk']}/used_by/").json() == [
        {
            "app": "authentik_core",
            "model_name": "source",
            "pk": source["pk"],
            "name": "Home Plex",
            "action": "cascade_many",
        }
    ]


def test_unused_objects_are_used_by_nothing(api):
    flow = make_flow(api)
    mapping = make_mapping(api)
    assert api.get(f"/flows/instances/{flow['slug']}/used_by/").json() == []
    assert api.get(f"/propertymappings/source/plex/{mapping['pk']}/used_by/").json() == []
