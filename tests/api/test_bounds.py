"""Bounded work per request: the limits the spec states are enforced, with a 400 keyed
by the field, never a 500, and nothing is stored past them."""

import pytest

from tests.helpers import make_source

SOURCE = {"name": "n", "slug": "s", "plex_token": "t"}


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ("a," * 25, "Ensure this value has at most 20 search terms (it has 25)."),
        (" ".join("abc" for _ in range(1000)),
         "Ensure this value has at most 512 characters (it has 3999)."),
        ("x" * 10_000, "Ensure this value has at most 512 characters (it has 10000)."),
    ],
)  # fmt: skip
def test_a_search_past_its_limits_is_400(api, search, message):
    response = api.get("/sources/plex/", params={"search": search})
    assert response.status_code == 400
    assert response.json() == {"search": [message]}


def test_a_search_at_its_limits_is_answered(api):
    make_source(api, name="a b c")
    terms = ",".join(["a"] * 20)
    assert api.get("/sources/plex/", params={"search": terms}).json()["pagination"]["count"] == 1
    assert api.get("/sources/plex/", params={"search": "a" * 512}).status_code == 200


@pytest.mark.parametrize(
    ("field", "value", "errors"),
    [
        ("name", "n" * 1_000_000, ["Ensure this field has no more than 1024 characters."]),
        ("plex_token", "t" * 1025, ["Ensure this field has no more than 1024 characters."]),
        ("allowed_servers", ["a"] * 100_000,
         ["Ensure this field has no more than 1000 elements."]),
        ("allowed_servers", ["a" * 256],
         {"0": ["Ensure this field has no more than 255 characters."]}),
    ],
)  # fmt: skip
def test_a_source_past_its_limits_is_400_and_not_stored(api, field, value, errors):
    response = api.post("/sources/plex/", json={**SOURCE, field: value})
    assert response.status_code == 400
    assert response.json() == {field: errors}
    assert api.get("/sources/plex/").json()["pagination"]["count"] == 0


def test_values_at_the_limits_are_stored(api):
    created = make_source(api, name="n" * 1024, allowed_servers=["s" * 255] * 1000)
    assert len(created["name"]) == 1024 and len(created["allowed_servers"]) == 1000


def test_a_mapping_expression_may_be_long_but_not_endless(api):
    body = {"name": "m", "expression": "x" * 65536}
    assert api.post("/propertymappings/source/plex/", json=body).status_code == 201
    body = {"name": "m2", "expression": "x" * 65537}
    response = api.post("/propertymappings/source/plex/", json=body)
    assert response.json() == {
        "expression": ["Ensure this field has no more than 65536 characters."]
    }
