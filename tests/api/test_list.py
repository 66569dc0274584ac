"""`GET /sources/plex/`: filters, search, ordering and authentik's pagination."""

import uuid

import pytest

from models import migrate
from models.resources import SOURCES
from models.store import Store
from tests.helpers import make_source

ZERO_UUID = "00000000-0000-0000-0000-000000000000"


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [source["slug"] for source in response.json()["results"]]


def test_empty_list(api):
    response = api.get("/sources/plex/")
    assert response.status_code == 200
    assert response.json() == {
        "pagination": {
            "next": 0,
            "previous": 0,
            "count": 0,
            "current": 1,
            "total_pages": 1,
            "start_index": 0,
            "end_index": 0,
        },
        "results": [],
        "autocomplete": {},
    }


def test_results_are_full_sources_ordered_by_name(api):
    b = make_source(api, name="Bravo", slug="b")
    a = make_source(api, name="alpha", slug="a")
    c = make_source(api, name="Charlie", slug="c")
    response = api.get("/sources/plex/")
    # Ordering is the database's byte order: upper case before lower case.
    assert response.json()["results"] == [b, c, a]


@pytest.fixture
def sources(api):
    make_source(api, name="Alpha Home", slug="alpha", enabled=False, client_id="cid-1")
    make_source(api, name="Beta", slug="beta-home", allow_friends=False, policy_engine_mode="all")
    make_source(
        api,
        name="Gamma",
        slug="gamma",
        user_matching_mode="email_link",
        group_matching_mode="name_link",
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("enabled=false", ["alpha"]),
        ("enabled=true", ["beta-home", "gamma"]),
        ("allow_friends=false", ["beta-home"]),
        ("client_id=cid-1", ["alpha"]),
        ("name=Beta", ["beta-home"]),
        ("name=beta", []),
        ("slug=gamma", ["gamma"]),
        ("policy_engine_mode=all", ["beta-home"]),
        ("user_matching_mode=email_link", ["gamma"]),
        ("group_matching_mode=name_link", ["gamma"]),
        ("group_matching_mode=identifier", ["alpha", "beta-home"]),
        ("enabled=true&allow_friends=true", ["gamma"]),
        ("search=home", ["alpha", "beta-home"]),
        ("search=HOME", ["alpha", "beta-home"]),
        ("search=home alpha", ["alpha"]),
        ("search=home,beta", ["beta-home"]),
        ("search=%25", []),
        ("search=_", []),
        ("search=a%00lpha", ["alpha"]),
        ('search="alpha home"', ["alpha"]),
        ('search="home alpha"', []),
        ("name=", ["alpha", "beta-home", "gamma"]),
        ("slug=&client_id=", ["alpha", "beta-home", "gamma"]),
        ("unknown=1", ["alpha", "beta-home", "gamma"]),
    ],
)
def test_filters_and_search(api, sources, query, expected):
    assert slugs(api.get(f"/sources/plex/?{query}")) == expected


def test_filter_by_pk(api, sources):
    pk = api.get("/sources/plex/gamma/").json()["pk"]
    assert slugs(api.get(f"/sources/plex/?pbm_uuid={pk}")) == ["gamma"]
    assert slugs(api.get(f"/sources/plex/?pbm_uuid={pk.upper()}")) == ["gamma"]
    assert slugs(api.get(f"/sources/plex/?pbm_uuid={uuid.uuid4()}")) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ordering=slug", ["alpha", "beta-home", "gamma"]),
        ("ordering=-slug", ["gamma", "beta-home", "alpha"]),
        ("ordering=-enabled,name", ["beta-home", "gamma", "alpha"]),
        ("ordering=policy_engine_mode,-name", ["beta-home", "gamma", "alpha"]),
        ("ordering=icon_url", ["alpha", "beta-home", "gamma"]),
        ("ordering=nonsense,-slug", ["gamma", "beta-home", "alpha"]),
        ("ordering=", ["alpha", "beta-home", "gamma"]),
        ("ordering=-", ["alpha", "beta-home", "gamma"]),
    ],
)
def test_ordering(api, sources, query, expected):
    assert slugs(api.get(f"/sources/plex/?{query}")) == expected


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("page=abc", {"page": ["A valid integer is required."]}),
        ("page=last", {"page": ["A valid integer is required."]}),
        ("page=1.5", {"page": ["A valid integer is required."]}),
        ("page=" + "9" * 5000, {"page": ["A valid integer is required."]}),
        ("page_size=-" + "9" * 5000, {"page_size": ["A valid integer is required."]}),
        ("page_size=abc", {"page_size": ["A valid integer is required."]}),
        ("page_size=0", {"page_size": ["Ensure this value is greater than or equal to 1."]}),
        ("page_size=-3", {"page_size": ["Ensure this value is greater than or equal to 1."]}),
        ("enabled=yes", {"enabled": ["Must be a valid boolean."]}),
        ("allow_friends=", {"allow_friends": ["Must be a valid boolean."]}),
        ("pbm_uuid=abc", {"pbm_uuid": ["Enter a valid UUID."]}),
        ("authentication_flow=abc", {"authentication_flow": ["“abc” is not a valid UUID."]}),
        ("enrollment_flow=abc", {"enrollment_flow": ["“abc” is not a valid UUID."]}),
        (
            f"authentication_flow={ZERO_UUID}",
            {
                "authentication_flow": [
                    "Select a valid choice. That choice is not one of the available choices."
                ]
            },
        ),
        (
            f"enrollment_flow={ZERO_UUID}",
            {
                "enrollment_flow": [
                    "Select a valid choice. That choice is not one of the available choices."
                ]
            },
        ),
        (
            "policy_engine_mode=x",
            {
                "policy_engine_mode": [
                    "Select a valid choice. x is not one of the available choices."
                ]
            },
        ),
        (
            "user_matching_mode=x",
            {
                "user_matching_mode": [
                    "Select a valid choice. x is not one of the available choices."
                ]
            },
        ),
        (
            "group_matching_mode=x",
            {
                "group_matching_mode": [
                    "Select a valid choice. x is not one of the available choices."
                ]
            },
        ),
        ("name=a%00b", {"name": ["Null characters are not allowed."]}),
        (
            "page=x&enabled=x",
            {"enabled": ["Must be a valid boolean."], "page": ["A valid integer is required."]},
        ),
    ],
)
def test_bad_query_parameters(api, query, errors):
    response = api.get(f"/sources/plex/?{query}")
    assert response.status_code == 400
    assert response.json() == errors


@pytest.fixture
def forty_five(api, store):
    for number in range(45):
        make_source(api, name=f"source {number:02d}", slug=f"s{number:02d}")


@pytest.mark.parametrize(
    ("query", "pagination", "first", "size"),
    [
        ("", (2, 0, 45, 1, 3, 1, 20), "s00", 20),
        ("page=2", (3, 1, 45, 2, 3, 21, 40), "s20", 20),
        ("page=3", (0, 2, 45, 3, 3, 41, 45), "s40", 5),
        ("page_size=10&page=5", (0, 4, 45, 5, 5, 41, 45), "s40", 5),
        ("page_size=45", (0, 0, 45, 1, 1, 1, 45), "s00", 45),
        ("page_size=500", (0, 0, 45, 1, 1, 1, 45), "s00", 45),
    ],
)
def test_pagination_arithmetic(api, forty_five, query, pagination, first, size):
    body = api.get(f"/sources/plex/?{query}").json()
    keys = ("next", "previous", "count", "current", "total_pages", "start_index", "end_index")
    assert body["pagination"] == dict(zip(keys, pagination, strict=True))
    assert body["results"][0]["slug"] == first
    assert len(body["results"]) == size


def test_page_size_is_capped_at_100(api, store):
    for number in range(101):
        make_source(api, name=f"n{number:03d}", slug=f"s{number:03d}")
    body = api.get("/sources/plex/?page_size=1000").json()
    assert len(body["results"]) == 100
    assert body["pagination"]["total_pages"] == 2
    assert body["pagination"]["next"] == 2


def test_pages_never_overlap_when_names_tie(api):
    for number in range(7):
        make_source(api, name="same", slug=f"s{number}")
    seen = []
    for page in (1, 2, 3):
        seen += slugs(api.get(f"/sources/plex/?page_size=3&page={page}"))
    assert sorted(seen) == [f"s{number}" for number in range(7)]


@pytest.mark.parametrize("page", ["0", "-1", "4", "99999999999999999999999"])
def test_invalid_page_is_404(api, forty_five, page):
    response = api.get(f"/sources/plex/?page={page}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


def test_page_two_of_nothing_is_404(api):
    response = api.get("/sources/plex/?page=2")
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


def test_search_folds_case_beyond_ascii(api):
    make_source(api, name="Ünïcode Plex", slug="unicode")
    make_source(api, name="Other", slug="other")
    assert slugs(api.get("/sources/plex/?search=üNÏ")) == ["unicode"]


# Names whose lower case is ASCII, or not, or longer (ß, İ), or depends on the
# neighbours (a final Σ); with LIKE's own wildcards and escape character.
SEARCHED_NAMES = ["Alpha Home", "ALPHA", "Ünïcode Plex", "ünïcode", "Straße", "STRASSE",
                  "Kelvin \u212a", "İstanbul", "ΣΊΣΥΦΟΣ", "100% real", "under_score",
                  "a/b path", "Café", "CAFÉ", "Kodi"]  # fmt: skip
SEARCH_TERMS = ["alpha", "ALPHA", "ünï", "ÜNÏ", "straße", "SS", "k", "\u212a", "i", "i\u0307",
                "σ", "ς", "Σ", "%", "_", "/", "é", "É", "café", "e", "x", "b p", "s1"]  # fmt: skip


@pytest.fixture(scope="module")
def searched_store(tmp_path_factory):
    """A SQLite store holding one source per name in SEARCHED_NAMES, slugs s0, s1, …"""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('search') / 'search.sqlite3'}")
    migrate.upgrade(store.url)
    for number, name in enumerate(SEARCHED_NAMES):
        store.create(SOURCES, {"name": name, "slug": f"s{number}", "plex_token": "t"})
    yield store
    store.close()


@pytest.mark.parametrize("term", SEARCH_TERMS)
def test_sqlite_search_folds_every_value_as_python_does(searched_store, term):
    """SQLite matches all-ASCII values with LIKE alone and the others through Python's
    lower(): together, exactly the values whose lower case contains the term's."""
    _count, found = searched_store.list_page(
        SOURCES, filters={}, search=f'"{term}"', ordering="slug", window=lambda count: (0, 100)
    )
    folded = term.lower()
    expected = [
        f"s{number}"
        for number, name in enumerate(SEARCHED_NAMES)
        if folded in name.lower() or folded in f"s{number}"
    ]
    assert sorted(source["slug"] for source in found) == sorted(expected)


def test_sqlite_connections_keep_16_mib_of_pages(tmp_path):
    """A list counts over an index; at 100,000 sources it outgrows SQLite's default 2 MiB
    page cache, and each count would read it back from the OS."""
    store = Store(f"sqlite:///{tmp_path / 'cache.sqlite3'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -16000
    store.engine.dispose()
