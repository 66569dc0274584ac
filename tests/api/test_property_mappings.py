"""`/propertymappings/source/plex/`: Plex source property mappings."""

import pytest

from tests.helpers import count_rows, make_mapping

MAPPING_KEYS = [
    "pk", "managed", "name", "expression", "component", "verbose_name",
    "verbose_name_plural", "meta_model_name",
]  # fmt: skip


def test_create(api, store):
    response = api.post(
        "/propertymappings/source/plex/",
        json={"name": "Plex email", "expression": "return {'email': info['email']}"},
    )
    assert response.status_code == 201
    body = response.json()
    assert list(body) == MAPPING_KEYS
    assert body == {
        "pk": body["pk"],
        "managed": None,
        "name": "Plex email",
        "expression": "return {'email': info['email']}",
        "component": "ak-property-mapping-source-plex-form",
        "verbose_name": "Plex Source Property Mapping",
        "verbose_name_plural": "Plex Source Property Mappings",
        "meta_model_name": "authentik_sources_plex.plexsourcepropertymapping",
    }
    assert count_rows(store, "property_mapping") == 1


def test_expression_is_stored_not_run(api, tmp_path):
    marker = tmp_path / "ran"
    expression = f"open({str(marker)!r}, 'w').write('x')\nraise SystemExit"
    created = make_mapping(api, expression=expression)
    assert api.get(f"/propertymappings/source/plex/{created['pk']}/").json()["expression"] == (
        expression
    )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {},
            {"name": ["This field is required."], "expression": ["This field is required."]},
        ),
        ({"name": "", "expression": "x"}, {"name": ["This field may not be blank."]}),
        ({"name": "n", "expression": ""}, {"expression": ["This field may not be blank."]}),
        ({"name": "n", "expression": None}, {"expression": ["This field may not be null."]}),
        (
            {"name": "n", "expression": "x", "managed": ""},
            {"managed": ["This field may not be blank."]},
        ),
        ({"name": 1, "expression": "x"}, {"name": ["Not a valid string."]}),
    ],
)
def test_create_rejects_with_drf_message(api, store, body, errors):
    response = api.post("/propertymappings/source/plex/", json=body)
    assert response.status_code == 400
    assert response.json() == errors
    assert count_rows(store, "property_mapping") == 0


def test_names_and_managed_values_are_unique(api, store):
    make_mapping(api, name="one", managed="goauthentik.io/sources/plex/one")
    response = api.post(
        "/propertymappings/source/plex/",
        json={"name": "one", "expression": "x", "managed": "goauthentik.io/sources/plex/one"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "managed": ["Property Mapping with this Managed by authentik already exists."],
        "name": ["Property Mapping with this name already exists."],
    }
    # Any number of mappings may be unmanaged.
    make_mapping(api, name="two", managed=None)
    make_mapping(api, name="three")
    assert count_rows(store, "property_mapping") == 3


def test_retrieve_update_partial_update_destroy(api, store):
    created = make_mapping(api)
    url = f"/propertymappings/source/plex/{created['pk']}/"
    assert api.get(url).json() == created
    upper = f"/propertymappings/source/plex/{created['pk'].upper()}/"
    assert api.get(upper).json() == created

    put = api.put(url, json={"name": "renamed", "expression": "return {}"})
    assert put.status_code == 200
    assert put.json() == {**created, "name": "renamed", "expression": "return {}"}

    patch = api.patch(url, json={"managed": "goauthentik.io/x"})
    assert patch.status_code == 200
    assert patch.json() == {**put.json(), "managed": "goauthentik.io/x"}

    assert api.delete(url).status_code == 204
    assert count_rows(store, "property_mapping") == 0
    assert api.get(url).status_code == 404


@pytest.mark.parametrize("key", ["0c4d1e5a-9f3b-4a6e-8d2c-7b1f0e9a3c55", "not-a-uuid", "0"])
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_unknown_or_invalid_pk_is_404(api, method, key):
    body = {"name": "n", "expression": "x"} if method in ("PUT", "PATCH") else None
    response = api.request(method, f"/propertymappings/source/plex/{key}/", json=body)
    assert response.status_code == 404
    assert response.json() == {"detail": "No PlexSourcePropertyMapping matches the given query."}


def mapping_names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [mapping["name"] for mapping in response.json()["results"]]


@pytest.fixture
def mappings(api):
    make_mapping(api, name="b-email", managed="goauthentik.io/email")
    make_mapping(api, name="a-username", managed="goauthentik.io/username")
    make_mapping(api, name="c-custom")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["a-username", "b-email", "c-custom"]),
        ("ordering=-name", ["c-custom", "b-email", "a-username"]),
        ("search=EMAIL", ["b-email"]),
        ("name=c-custom", ["c-custom"]),
        ("managed=goauthentik.io/email", ["b-email"]),
        ("managed=goauthentik.io/email&managed=goauthentik.io/username", ["a-username", "b-email"]),
        ("managed__isnull=true", ["c-custom"]),
        ("managed__isnull=false", ["a-username", "b-email"]),
    ],
)
def test_list(api, mappings, query, expected):
    assert mapping_names(api.get(f"/propertymappings/source/plex/?{query}")) == expected


def test_list_rejects_bad_filters(api):
    response = api.get("/propertymappings/source/plex/?managed__isnull=maybe&managed=a%00")
    assert response.status_code == 400
    assert response.json() == {
        "managed": ["Null characters are not allowed."],
        "managed__isnull": ["Must be a valid boolean."],
    }
