"""models/store.py: reads and writes as the API uses them, refusals as store errors."""

import asyncio
import sqlite3
import threading

import pytest

from models.errors import Invalid, NotFound
from models.resources import FLOWS, SOURCES
from models.store import SHORT_SCAN, WriteBusy, normalise_url, search_terms

SOURCE = {"name": "Plex", "slug": "plex", "plex_token": "t"}


def whole(count: int) -> tuple[int, int]:
    return 0, 100


def test_create_then_find_and_list(store):
    created = store.create(SOURCES, SOURCE)
    found = store.find(SOURCES, "plex", represent=True)
    assert found.pk == created["pk"] and found.representation == created
    count, rows = store.list_page(SOURCES, filters={}, search=None, ordering=None, window=whole)
    assert (count, [row["slug"] for row in rows]) == (1, ["plex"])


def test_a_taken_slug_is_invalid_and_changes_nothing(store):
    store.create(SOURCES, SOURCE)
    with pytest.raises(Invalid) as refused:
        store.create(SOURCES, {**SOURCE, "name": "Other"})
    assert refused.value.problems == {"slug": ["source with this slug already exists."]}
    assert store.find(SOURCES, "plex", represent=True).representation["name"] == "Plex"


def test_a_missing_reference_is_invalid(store):
    missing = "00000000-0000-0000-0000-000000000001"
    with pytest.raises(Invalid) as refused:
        store.create(SOURCES, {**SOURCE, "authentication_flow": missing})
    assert refused.value.problems == {
        "authentication_flow": [f'Invalid pk "{missing}" - object does not exist.']
    }


@pytest.mark.parametrize("key", ["nothing", "x" * 300, "a\x00b"])
def test_an_unknown_key_is_not_found(store, key):
    assert store.find(SOURCES, key) is None
    with pytest.raises(NotFound) as missing:
        store.update(SOURCES, key, {"name": "x"})
    assert missing.value.message == "No PlexSource matches the given query."
    with pytest.raises(NotFound):
        store.delete(SOURCES, key)


def test_list_filters_search_ordering_and_window(store):
    for slug, name in (("b", "Beta"), ("a", "Alpha"), ("c", "Gamma")):
        store.create(SOURCES, {**SOURCE, "slug": slug, "name": name})
    count, rows = store.list_page(
        SOURCES, filters={"enabled": True}, search="a", ordering="-slug",
        window=lambda count: (1, 1),
    )  # fmt: skip
    assert count == 3  # every name has an "a"
    assert [row["slug"] for row in rows] == ["b"]  # c, b, a: the second


def test_a_filter_naming_an_unknown_flow_is_invalid(store):
    missing = "00000000-0000-0000-0000-000000000002"
    with pytest.raises(Invalid) as refused:
        store.list_page(
            SOURCES, filters={"authentication_flow": missing}, search=None, ordering=None,
            window=whole,
        )  # fmt: skip
    assert refused.value.problems == {
        "authentication_flow": [
            "Select a valid choice. That choice is not one of the available choices."
        ]
    }


def test_empty_filter_values_filter_nothing(store):
    store.create(FLOWS, {"name": "f", "slug": "f", "title": "t", "designation": "enrollment"})
    count, _rows = store.list_page(
        FLOWS, filters={"name": "", "slug": None}, search=None, ordering=None, window=whole
    )
    assert count == 1


@pytest.mark.parametrize(
    ("search", "terms"),
    [
        ("a b", ["a", "b"]),
        ("a,b", ["a", "b"]),
        ('"a b" c', ["a b", "c"]),
        ("a\x00b", ["ab"]),
        ("  ", []),
        (None, []),
    ],
)
def test_search_terms_split_as_drf_does(search, terms):
    assert search_terms(search) == terms


def test_postgres_urls_get_the_psycopg_driver():
    assert normalise_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("sqlite:///x.sqlite3") == "sqlite:///x.sqlite3"


def test_identity_for_token(store):
    store.create_user("alice")
    key = store.create_token("alice-key", "alice")
    identity = store.identity_for_token(key)
    assert (identity.username, identity.is_superuser) == ("alice", False)
    assert store.identity_for_token(key + "x") is None
    store.set_user_active("alice", False)
    assert store.identity_for_token(key) is None


def test_awaited_reads_renew_their_connections_once(store):
    """After a dropped connection, the first request to find out empties the awaited
    reads' pool; a request that found out about the same pool later leaves the new one
    (and the connections others opened in it) alone."""
    if not store.reads_awaited:
        pytest.skip("SQLite reads are not awaited")
    dropped = store.awaited_reads_pool()

    async def renew_twice():
        await store.renew_awaited_connections(dropped)
        renewed = store.awaited_reads_pool()
        await store.renew_awaited_connections(dropped)
        return renewed, store.awaited_reads_pool()

    renewed, after = asyncio.run(renew_twice())
    assert renewed is not dropped
    assert after is renewed


def test_a_search_is_made_on_the_loop_while_its_scan_is_short(store):
    """SQLite: rows × terms × searched columns within SHORT_SCAN; PostgreSQL scans in
    its own processes, so never."""
    store.create(SOURCES, {"name": "Plex", "slug": "plex", "plex_token": "t"})
    most_terms = " ".join(f"t{n}" for n in range(20))  # the spec's bound
    assert store.short_scan(SOURCES, "plex") is store.is_sqlite
    assert store.short_scan(SOURCES, most_terms) is store.is_sqlite
    rows = SHORT_SCAN // (20 * len(SOURCES.search)) + 1
    for number in range(rows):
        store.create(SOURCES, {"name": f"s{number}", "slug": f"s{number}", "plex_token": "t"})
    assert store.short_scan(SOURCES, "plex") is store.is_sqlite
    assert store.short_scan(SOURCES, most_terms) is False
    assert store.short_scan(SOURCES, "") is store.is_sqlite  # no term scans nothing


def test_a_search_checked_inside_a_snapshot_reads_on_its_connection(store):
    """SQLite's loop has one connection: a second one would wait for it forever."""
    on_loop = store.is_sqlite  # PostgreSQL's loop connections are awaited in a greenlet
    with store.snapshot(on_loop=on_loop):
        assert store.short_scan(SOURCES, "plex") is store.is_sqlite


def test_a_loop_read_sees_each_write_committed_before_it(store):
    """SQLite's loop keeps its read connection between requests: each read still begins
    its own transaction, so it sees what other connections committed meanwhile."""
    on_loop = store.is_sqlite  # PostgreSQL's loop connections are awaited in a greenlet
    with store.snapshot(on_loop=on_loop):
        assert store.find(SOURCES, "plex") is None
    store.create(SOURCES, SOURCE)  # through the writers' connections
    with store.snapshot(on_loop=on_loop):
        assert store.find(SOURCES, "plex", represent=True).representation["slug"] == "plex"


def test_a_failed_loop_read_leaves_the_next_one_whole(store):
    on_loop = store.is_sqlite
    with pytest.raises(ZeroDivisionError), store.snapshot(on_loop=on_loop):
        store.find(SOURCES, "plex")
        1 / 0  # noqa: B018  (a request's check failing mid-snapshot)
    store.create(SOURCES, SOURCE)
    with store.snapshot(on_loop=on_loop):
        assert store.find(SOURCES, "plex") is not None


def test_loops_in_two_threads_take_turns_on_the_kept_connection(store):
    """A process may run several loops (a test's clients): their reads on the one kept
    connection wait for each other instead of beginning inside another's transaction."""
    store.create(SOURCES, SOURCE)
    on_loop = store.is_sqlite
    found = []

    def read_many():
        for _ in range(300):
            with store.snapshot(on_loop=on_loop):
                found.append(store.find(SOURCES, "plex") is not None)

    threads = [threading.Thread(target=read_many) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [True] * 600


def test_object_grants_on_one_object_and_on_several_agree(store):
    """A grant held through the user's own role or a group's role, read for one object
    (an object's own checks) or for a page of them."""
    store.create_user("alice")
    store.create_group("team")
    store.add_to_group("alice", "team")
    for slug in ("a", "b", "c"):
        store.create(SOURCES, {"name": slug, "slug": slug, "plex_token": "t"})
    view = SOURCES.codename("view")
    store.grant(view, user="alice", obj="a")
    store.grant(view, group="team", obj="b")
    alice = store.identity_for_token(store.create_token("alice-key", "alice"))
    pks = [store.find(SOURCES, slug).pk for slug in ("a", "b", "c")]
    each = [store.with_grants_on(alice, [pk]).has_perm(view, pk) for pk in pks]
    together = store.with_grants_on(alice, pks)
    assert each == [True, True, False]
    assert [together.has_perm(view, pk) for pk in pks] == each


def test_a_loop_read_connection_left_in_a_transaction_is_replaced(store):
    """Were the kept connection ever left inside a transaction SQLAlchemy knows nothing
    of, every later BEGIN on it would fail; the next read gets a new connection."""
    if not store.is_sqlite:
        pytest.skip("only SQLite keeps a connection for the loop's reads")
    with store.snapshot(on_loop=True):
        assert store.find(SOURCES, "plex") is None
    store._loop_reads.connection().connection.dbapi_connection.execute("BEGIN")  # the damage
    store.create(SOURCES, SOURCE)
    with store.snapshot(on_loop=True):
        assert store.find(SOURCES, "plex") is not None


def test_inline_writes_keep_their_connection_through_a_busy_database(store):
    """SQLite's inline writes keep one connection too: after another connection held
    the database (WriteBusy, nothing written), the next inline write is made on it."""
    if not store.is_sqlite:
        pytest.skip("only SQLite writes inline")
    path = store.engine.url.database
    other = sqlite3.connect(path, isolation_level=None)
    with store.inline_writes():
        store.create(SOURCES, {"name": "first", "slug": "first", "plex_token": "t"})
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(WriteBusy), store.inline_writes():
        store.create(SOURCES, {"name": "busy", "slug": "busy", "plex_token": "t"})
    other.execute("COMMIT")
    other.close()
    with store.inline_writes():
        store.create(SOURCES, {"name": "after", "slug": "after", "plex_token": "t"})
    _count, listed = store.list_page(
        SOURCES, filters={}, search=None, ordering="slug", window=whole
    )
    assert [source["slug"] for source in listed] == ["after", "first"]
