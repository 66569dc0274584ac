"""Every validation message, exactly as docs/behaviour.md §2 lists it."""

import json

import pytest
import yaml

from app.config import Settings
from app.main import SPEC_PATH, create_app
from models import migrate
from tests.helpers import AUTH, TOKEN, count_rows, make_source

VALID = {"name": "n", "slug": "s", "plex_token": "t"}
ZERO_UUID = "00000000-0000-0000-0000-000000000000"
SLUG_MESSAGE = 'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"name": ""}, {"name": ["This field may not be blank."]}),
        ({"slug": ""}, {"slug": ["This field may not be blank."]}),
        ({"plex_token": ""}, {"plex_token": ["This field may not be blank."]}),
        ({"client_id": ""}, {"client_id": ["This field may not be blank."]}),
        ({"user_path_template": ""}, {"user_path_template": ["This field may not be blank."]}),
        ({"name": None}, {"name": ["This field may not be null."]}),
        ({"slug": None}, {"slug": ["This field may not be null."]}),
        ({"plex_token": None}, {"plex_token": ["This field may not be null."]}),
        ({"enabled": None}, {"enabled": ["This field may not be null."]}),
        ({"icon": None}, {"icon": ["This field may not be null."]}),
        ({"name": ["x"]}, {"name": ["Not a valid string."]}),
        ({"name": {"a": 1}}, {"name": ["Not a valid string."]}),
        ({"client_id": True}, {"client_id": ["Not a valid string."]}),
        # Strict typing (docs/behaviour.md §1): no coercion of numbers to strings.
        ({"client_id": 5}, {"client_id": ["Not a valid string."]}),
        ({"enabled": "maybe"}, {"enabled": ["Must be a valid boolean."]}),
        ({"allow_friends": 2}, {"allow_friends": ["Must be a valid boolean."]}),
        ({"promoted": []}, {"promoted": ["Must be a valid boolean."]}),
        ({"slug": "a b"}, {"slug": [SLUG_MESSAGE]}),
        ({"slug": "é"}, {"slug": [SLUG_MESSAGE]}),
        (
            {"slug": "x" * 51},
            {"slug": ["Ensure this field has no more than 50 characters."]},
        ),
        (
            {"slug": "a b" * 17},
            {"slug": ["Ensure this field has no more than 50 characters.", SLUG_MESSAGE]},
        ),
        (
            {"authentication_flow": ZERO_UUID},
            {"authentication_flow": [f'Invalid pk "{ZERO_UUID}" - object does not exist.']},
        ),
        (
            {"enrollment_flow": ZERO_UUID},
            {"enrollment_flow": [f'Invalid pk "{ZERO_UUID}" - object does not exist.']},
        ),
        (
            {"user_property_mappings": [ZERO_UUID]},
            {"user_property_mappings": [f'Invalid pk "{ZERO_UUID}" - object does not exist.']},
        ),
        (
            {"group_property_mappings": [ZERO_UUID]},
            {"group_property_mappings": [f'Invalid pk "{ZERO_UUID}" - object does not exist.']},
        ),
        ({"authentication_flow": "abc"}, {"authentication_flow": ["“abc” is not a valid UUID."]}),
        (
            {"authentication_flow": 5},
            {"authentication_flow": ['Invalid pk "5" - object does not exist.']},
        ),
        (
            {"authentication_flow": {"a": 1}},
            {"authentication_flow": ["“{'a': 1}” is not a valid UUID."]},
        ),
        ({"policy_engine_mode": 5}, {"policy_engine_mode": ['"5" is not a valid choice.']}),
        ({"slug": "abc\nd"}, {"slug": [SLUG_MESSAGE]}),
        (
            {"group_property_mappings": [5]},
            {"group_property_mappings": ['Invalid pk "5" - object does not exist.']},
        ),
        (
            {"user_property_mappings": "abc"},
            {"user_property_mappings": ['Expected a list of items but got type "str".']},
        ),
        (
            {"user_property_mappings": [ZERO_UUID, "abc"]},
            {"user_property_mappings": ["“abc” is not a valid UUID."]},
        ),
        (
            {"allowed_servers": "abc"},
            {"allowed_servers": ['Expected a list of items but got type "str".']},
        ),
        (
            {"allowed_servers": ["ok", "", "ok", None]},
            {
                "allowed_servers": {
                    "1": ["This field may not be blank."],
                    "3": ["This field may not be null."],
                }
            },
        ),
        (
            {"policy_engine_mode": "x"},
            {"policy_engine_mode": ['"x" is not a valid choice.']},
        ),
        (
            {"user_matching_mode": "x"},
            {"user_matching_mode": ['"x" is not a valid choice.']},
        ),
        (
            {"group_matching_mode": "x"},
            {"group_matching_mode": ['"x" is not a valid choice.']},
        ),
        ({"icon": "/etc/passwd"}, {"icon": ["Absolute paths are not allowed"]}),
        (
            {"icon": "a/../b"},
            {"icon": ["Parent directory references ('..') are not allowed"]},
        ),
        ({"icon": ".hidden"}, {"icon": ["Paths cannot start with '.'"]}),
        ({"icon": "a//b"}, {"icon": ["File name cannot contain duplicate /"]}),
        (
            {"icon": "a b.png"},
            {
                "icon": [
                    "File name can only contain letters (a-z, A-Z), numbers (0-9), dots (.), "
                    "hyphens (-), underscores (_), and forward slashes (/)"
                ]
            },
        ),
        ({"icon": "a" * 256}, {"icon": ["Path component too long (max 255 characters)"]}),
        (
            {"icon": "/".join(["a" * 200] * 6)},
            {"icon": ["File name too long (max 1024 characters)"]},
        ),
        ({"name": "a\x00b"}, {"name": ["Null characters are not allowed."]}),
        (
            {"allowed_servers": ["a\x00"]},
            {"allowed_servers": {"0": ["Null characters are not allowed."]}},
        ),
    ],
)
def test_create_rejects_with_drf_message(api, store, changes, errors):
    response = api.post("/sources/plex/", json={**VALID, **changes})

    assert response.status_code == 400
    assert response.json() == errors
    assert count_rows(store, "plex_source") == 0


def test_missing_required_fields_are_listed_in_field_order(api):
    response = api.post("/sources/plex/", json={})
    assert response.status_code == 400
    assert response.json() == {
        "name": ["This field is required."],
        "slug": ["This field is required."],
        "plex_token": ["This field is required."],
    }


def test_empty_body_is_an_empty_object(api):
    response = api.post("/sources/plex/", content=b"", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {
        "name": ["This field is required."],
        "slug": ["This field is required."],
        "plex_token": ["This field is required."],
    }


def test_a_body_of_whitespace_is_not_json(api):
    """Found by schemathesis: a PATCH whose body was a newline changed nothing and
    answered 200; DRF's JSON parser refuses it."""
    make_source(api)
    response = api.patch(
        "/sources/plex/plex/", content=b"\n", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - Expecting value: line 2 column 1 (char 1)"
    }


def test_lone_surrogate_is_rejected_not_stored(api, store):
    raw = b'{"name": "a\\ud886b", "slug": "s", "plex_token": "t"}'
    response = api.post("/sources/plex/", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"name": ["Surrogate characters are not allowed: U+D886."]}
    assert count_rows(store, "plex_source") == 0


def test_errors_are_keyed_in_serializer_field_order(api):
    response = api.post(
        "/sources/plex/", json={"plex_token": "", "slug": "a b", "name": "", "enabled": 3}
    )
    assert list(response.json()) == ["name", "slug", "enabled", "plex_token"]


@pytest.mark.parametrize(
    ("body", "kind"), [([1], "list"), ("text", "str"), (5, "int"), (True, "bool"), (1.5, "float")]
)
def test_body_that_is_not_an_object(api, body, kind):
    response = api.post("/sources/plex/", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]
    }


def test_null_body(api):
    response = api.post(
        "/sources/plex/", content=b"null", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["No data provided"]}


def test_duplicate_slug(api, store):
    make_source(api, slug="taken")
    response = api.post("/sources/plex/", json={**VALID, "slug": "taken"})
    assert response.status_code == 400
    assert response.json() == {"slug": ["source with this slug already exists."]}
    assert count_rows(store, "plex_source") == 1


def test_duplicate_name_is_allowed(api):
    make_source(api, name="Same", slug="one")
    response = api.post("/sources/plex/", json={**VALID, "name": "Same", "slug": "two"})
    assert response.status_code == 201


def test_patch_validates_what_it_is_given(api):
    created = make_source(api)
    response = api.patch("/sources/plex/plex/", json={"name": "", "enabled": "no"})
    assert response.status_code == 400
    assert response.json() == {
        "name": ["This field may not be blank."],
        "enabled": ["Must be a valid boolean."],
    }
    assert api.get("/sources/plex/plex/").json() == created


def test_rejected_update_changes_nothing(api):
    created = make_source(api)
    response = api.put(
        "/sources/plex/plex/",
        json={"name": "x", "slug": "y", "plex_token": "z", "enrollment_flow": ZERO_UUID},
    )
    assert response.status_code == 400
    assert api.get("/sources/plex/plex/").json() == created


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("authentication_flow", "“\ud800” is not a valid UUID."),
        ("policy_engine_mode", '"\ud800" is not a valid choice.'),
    ],
)
def test_lone_surrogate_quoted_back_in_a_message(api, store, field, message):
    # Found in review: orjson refused to render the message, which was a 500.
    raw = b'{"name": "n", "slug": "s", "plex_token": "t", "%s": "\\ud800"}' % field.encode()
    response = api.post("/sources/plex/", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert json.loads(response.content) == {field: [message]}
    assert count_rows(store, "plex_source") == 0


def test_deeply_nested_json_is_a_parse_error(api):
    response = api.post(
        "/sources/plex/", content=b"[" * 100_000, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "Application/Json; charset=UTF-8"])
def test_media_type_is_case_insensitive(api, store, content_type):
    bad = api.post(
        "/sources/plex/", content=b'{"name": ""}', headers={"Content-Type": content_type}
    )
    assert bad.status_code == 400
    assert bad.json()["name"] == ["This field may not be blank."]
    good = api.post(
        "/sources/plex/",
        content=b'{"name": "n", "slug": "s", "plex_token": "t"}',
        headers={"Content-Type": content_type},
    )
    assert good.status_code == 201
    assert count_rows(store, "plex_source") == 1


@pytest.mark.parametrize("flavour", ["async", "flask"])
def test_a_bound_added_to_the_spec_alone_is_enforced(tmp_path, flavour):
    """Query parameters are checked by their schemas in the YAML: bounds added to a copy
    of the spec, and nothing else, are enforced with field-keyed messages."""
    spec = yaml.safe_load(SPEC_PATH.read_text())
    spec["components"]["parameters"]["PageSize"]["schema"]["maximum"] = 5
    name_filter = next(
        p for p in spec["paths"]["/sources/plex/"]["get"]["parameters"] if p.get("name") == "name"
    )
    name_filter["schema"]["maxLength"] = 3
    copy = tmp_path / "openapi.yaml"
    copy.write_text(yaml.safe_dump(spec, sort_keys=False))
    url = f"sqlite:///{tmp_path / 'api.sqlite3'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url, bootstrap_token=TOKEN, app_flavour=flavour)
    app = create_app(settings, spec_path=copy)
    with app.test_client(base_url="http://testserver/api/v3", headers=AUTH) as client:
        assert client.get("/sources/plex/?page_size=5").status_code == 200
        too_many = client.get("/sources/plex/?page_size=6")
        assert too_many.status_code == 400
        assert too_many.json() == {"page_size": ["Ensure this value is less than or equal to 5."]}
        too_long = client.get("/sources/plex/?name=abcd")
        assert too_long.status_code == 400
        assert too_long.json() == {
            "name": ["Ensure this value has at most 3 characters (it has 4)."]
        }
    app.store.close()


def test_null_beside_all_of_is_accepted_where_nullable():
    # Connexion 3.3 rejects it (#1284); icon_themed_urls is such a field.
    from connexion.json_schema import Draft4ResponseValidator

    from app.validation import ResponseSchemaValidator

    schema = {"allOf": [{"type": "object"}], "nullable": True}
    assert ResponseSchemaValidator(schema).is_valid(None)
    assert not ResponseSchemaValidator({"allOf": [{"type": "object"}]}).is_valid(None)
    assert not Draft4ResponseValidator(schema).is_valid(None)
