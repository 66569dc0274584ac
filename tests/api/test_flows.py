"""`/flows/instances/`: flows, the objects a Plex source authenticates and enrols with."""

import pytest

from tests.helpers import count_rows, make_flow

FLOW_KEYS = [
    "pk", "policybindingmodel_ptr_id", "name", "slug", "title", "designation", "background",
    "background_url", "background_themed_urls", "stages", "policies", "cache_count",
    "policy_engine_mode", "compatibility_mode", "export_url", "layout", "denied_action",
    "authentication",
]  # fmt: skip


def test_create_applies_authentik_defaults(api, store):
    response = api.post(
        "/flows/instances/",
        json={
            "name": "Login",
            "slug": "login",
            "title": "Welcome",
            "designation": "authentication",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert list(body) == FLOW_KEYS
    assert body == {
        "pk": body["pk"],
        "policybindingmodel_ptr_id": body["pk"],
        "name": "Login",
        "slug": "login",
        "title": "Welcome",
        "designation": "authentication",
        "background": "",
        "background_url": "/static/dist/assets/images/flow_background.jpg",
        "background_themed_urls": None,
        "stages": [],
        "policies": [],
        "cache_count": 0,
        "policy_engine_mode": "any",
        "compatibility_mode": False,
        "export_url": "/api/v3/flows/instances/login/export/",
        "layout": "stacked",
        "denied_action": "message_continue",
        "authentication": "none",
    }
    assert count_rows(store, "flow") == 1


def test_create_stores_every_writable_field(api):
    fields = {
        "name": "Enrol",
        "slug": "enrol",
        "title": "Join",
        "designation": "enrollment",
        "background": "https://example.org/bg-%(theme)s.png",
        "policy_engine_mode": "all",
        "compatibility_mode": True,
        "layout": "sidebar_left",
        "denied_action": "continue",
        "authentication": "require_unauthenticated",
    }
    created = make_flow(api, **fields)
    assert api.get("/flows/instances/enrol/").json() == created
    for key, value in fields.items():
        assert created[key] == value
    assert created["background_url"] == "https://example.org/bg-%(theme)s.png"
    assert created["background_themed_urls"] == {
        "light": "https://example.org/bg-light.png",
        "dark": "https://example.org/bg-dark.png",
    }


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"name": None, "slug": None, "title": None, "designation": None},
            {
                "name": ["This field may not be null."],
                "slug": ["This field may not be null."],
                "title": ["This field may not be null."],
                "designation": ["This field may not be null."],
            },
        ),
        ({"title": ""}, {"title": ["This field may not be blank."]}),
        (
            {"slug": "no spaces"},
            {
                "slug": [
                    'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'
                ]
            },
        ),
        ({"designation": "login"}, {"designation": ['"login" is not a valid choice.']}),
        ({"layout": "wide"}, {"layout": ['"wide" is not a valid choice.']}),
        ({"denied_action": "x"}, {"denied_action": ['"x" is not a valid choice.']}),
        ({"authentication": "x"}, {"authentication": ['"x" is not a valid choice.']}),
        ({"compatibility_mode": "yes"}, {"compatibility_mode": ["Must be a valid boolean."]}),
        (
            {"background": "../x.png"},
            {"background": ["Parent directory references ('..') are not allowed"]},
        ),
    ],
)
def test_create_rejects_with_drf_message(api, store, changes, errors):
    body = {"name": "n", "slug": "s", "title": "t", "designation": "authentication", **changes}
    response = api.post("/flows/instances/", json=body)
    assert response.status_code == 400
    assert response.json() == errors
    assert count_rows(store, "flow") == 0


def test_required_fields(api):
    response = api.post("/flows/instances/", json={})
    assert response.status_code == 400
    assert response.json() == {
        "name": ["This field is required."],
        "slug": ["This field is required."],
        "title": ["This field is required."],
        "designation": ["This field is required."],
    }


def test_duplicate_slug(api, store):
    make_flow(api)
    response = api.post(
        "/flows/instances/",
        json={"name": "x", "slug": "plex-login", "title": "x", "designation": "recovery"},
    )
    assert response.status_code == 400
    assert response.json() == {"slug": ["Flow with this slug already exists."]}
    assert count_rows(store, "flow") == 1


def test_update_and_partial_update(api):
    created = make_flow(api)
    put = api.put(
        "/flows/instances/plex-login/",
        json={"name": "n2", "slug": "renamed", "title": "t2", "designation": "recovery"},
    )
    assert put.status_code == 200
    assert put.json() == {
        **created,
        "name": "n2",
        "slug": "renamed",
        "title": "t2",
        "designation": "recovery",
        "export_url": "/api/v3/flows/instances/renamed/export/",
    }
    patch = api.patch("/flows/instances/renamed/", json={"layout": "content_left"})
    assert patch.status_code == 200
    assert patch.json() == {**put.json(), "layout": "content_left"}
    assert api.get("/flows/instances/plex-login/").status_code == 404


def test_destroy(api, store):
    make_flow(api)
    response = api.delete("/flows/instances/plex-login/")
    assert response.status_code == 204
    assert count_rows(store, "flow") == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/flows/instances/nope/"),
        ("PUT", "/flows/instances/nope/"),
        ("PATCH", "/flows/instances/nope/"),
        ("DELETE", "/flows/instances/nope/"),
        ("GET", "/flows/instances/nope/used_by/"),
    ],
)
def test_unknown_slug_is_404(api, method, path):
    body = {"name": "n", "slug": "s", "title": "t", "designation": "recovery"}
    response = api.request(method, path, json=body if method in ("PUT", "PATCH") else None)
    assert response.status_code == 404
    assert response.json() == {"detail": "No Flow matches the given query."}


@pytest.fixture
def flows(api):
    make_flow(api, name="Beta", slug="b-login", title="Sign in", designation="authentication")
    make_flow(api, name="Alpha", slug="a-enrol", title="Join us", designation="enrollment")
    make_flow(
        api, name="Gamma", slug="c-recover", title="Recover", designation="recovery",
        denied_action="continue",
    )  # fmt: skip


def flow_slugs(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [flow["slug"] for flow in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["a-enrol", "b-login", "c-recover"]),
        ("ordering=name", ["a-enrol", "b-login", "c-recover"]),
        ("ordering=-title", ["b-login", "c-recover", "a-enrol"]),
        ("designation=enrollment", ["a-enrol"]),
        ("denied_action=continue", ["c-recover"]),
        ("name=Beta", ["b-login"]),
        ("slug=c-recover", ["c-recover"]),
        ("search=join", ["a-enrol"]),
        ("search=authentication", ["b-login"]),
        ("search=in", ["a-enrol", "b-login"]),
    ],
)
def test_list_filters_search_and_ordering(api, flows, query, expected):
    assert flow_slugs(api.get(f"/flows/instances/?{query}")) == expected


def test_list_by_pk_and_pagination(api, flows):
    pk = api.get("/flows/instances/b-login/").json()["pk"]
    assert flow_slugs(api.get(f"/flows/instances/?flow_uuid={pk}")) == ["b-login"]
    body = api.get("/flows/instances/?page_size=2&page=2").json()
    assert body["pagination"] == {
        "next": 0,
        "previous": 1,
        "count": 3,
        "current": 2,
        "total_pages": 2,
        "start_index": 3,
        "end_index": 3,
    }
    assert body["autocomplete"] == {}


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        (
            "designation=login",
            {"designation": ["Select a valid choice. login is not one of the available choices."]},
        ),
        ("flow_uuid=x", {"flow_uuid": ["Enter a valid UUID."]}),
        ("page=0", None),
    ],
)
def test_list_bad_queries(api, query, errors):
    response = api.get(f"/flows/instances/?{query}")
    if errors is None:
        assert response.status_code == 404
        assert response.json() == {"detail": "Invalid page."}
    else:
        assert response.status_code == 400
        assert response.json() == errors
