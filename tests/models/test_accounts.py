"""models/accounts.py: users, groups, tokens and grants as plex-admin changes them."""

import re
import sqlite3
import uuid
from datetime import UTC, datetime

import pytest

from models.accounts import AccountError, generate_key
from models.identity import Token
from models.resources import CONNECTIONS, FLOWS, PLEX_MAPPINGS, ROLES, SOURCES
from models.store import Store
from tests.helpers import TOKEN, count_rows

VIEW = "authentik_sources_plex.view_plexsource"


def test_keys_are_60_random_letters_and_digits():
    keys = {generate_key() for _ in range(20)}
    assert len(keys) == 20 and all(re.fullmatch(r"[A-Za-z0-9]{60}", k) for k in keys)


def test_a_user_and_a_group_exist_once(store):
    assert store.create_user("alice", name="Alice", email="a@example.org") == {
        "username": "alice", "name": "Alice", "email": "a@example.org",
        "active": True, "superuser": False, "groups": [],
    }  # fmt: skip
    assert store.create_group("team") == {"name": "team", "superuser": False, "members": []}
    with pytest.raises(AccountError, match="user 'alice' exists already"):
        store.create_user("alice")
    with pytest.raises(AccountError, match="group 'team' exists already"):
        store.create_group("team")


def test_group_membership_and_superusers(store):
    store.create_user("alice")
    store.create_group("admins", is_superuser=True)
    assert store.add_to_group("alice", "admins") is True
    assert store.add_to_group("alice", "admins") is False  # a member already
    alice = next(u for u in store.list_users() if u["username"] == "alice")
    assert alice == {
        "username": "alice", "name": "", "email": "", "active": True, "superuser": True,
        "groups": ["admins"],
    }  # fmt: skip


def test_groups_are_listed_with_their_members(store):
    for name in ("bob", "alice"):
        store.create_user(name)
        store.add_to_group(name, "authentik Admins")
    store.create_group("empty")
    assert store.list_groups() == [
        {"name": "authentik Admins", "superuser": True, "members": ["akadmin", "alice", "bob"]},
        {"name": "empty", "superuser": False, "members": []},
    ]


def test_a_user_leaves_a_group(store):
    store.create_user("alice")
    store.create_group("admins", is_superuser=True)
    store.add_to_group("alice", "admins")
    store.remove_from_group("alice", "admins")
    alice = next(u for u in store.list_users() if u["username"] == "alice")
    assert (alice["groups"], alice["superuser"]) == ([], False)
    assert next(g for g in store.list_groups() if g["name"] == "admins")["members"] == []
    with pytest.raises(AccountError, match="user 'alice' is not in group 'admins'"):
        store.remove_from_group("alice", "admins")
    with pytest.raises(AccountError, match="no group 'ghosts'"):
        store.remove_from_group("alice", "ghosts")


def test_grants_reach_a_user_directly_and_through_groups(store):
    source = store.create(SOURCES, {"name": "n", "slug": "s", "plex_token": "t"})
    store.create_user("alice")
    store.create_group("team")
    store.add_to_group("alice", "team")
    assert store.grant(VIEW, group="team", obj="s") is True
    assert store.grant(VIEW, user="alice") is True
    assert store.grant(VIEW, user="alice") is False  # held already
    grants = store.list_grants(user="alice")
    assert {(g["holder"], g["object"], g["object_pk"]) for g in grants} == {
        ("group:team", "s", source["pk"]),
        ("user:alice", "*", None),
    }
    store.revoke(VIEW, user="alice")
    with pytest.raises(AccountError, match="no such grant"):
        store.revoke(VIEW, user="alice")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"codename": "nope.view_x", "user": "alice"}, "unknown permission 'nope.view_x'"),
        ({"codename": VIEW, "user": "alice", "obj": "missing"}, "no object 'missing'"),
        ({"codename": VIEW}, "name exactly one of a user or a group"),
        ({"codename": VIEW, "user": "bob"}, "no user 'bob'"),
    ],
)
def test_grants_that_cannot_be_made(store, arguments, message):
    store.create_user("alice")
    arguments = dict(arguments)  # the parameters are shared by both databases
    codename = arguments.pop("codename")
    with pytest.raises(AccountError, match=re.escape(message)):
        store.grant(codename, **arguments)


def test_a_role_named_like_a_managed_one_is_reported(store):
    """A role made through the API may take the name a user's own role would get; the
    grant then says so instead of failing on the database's unique name."""
    store.create_user("alice")
    pk = store.identity_for_token(store.create_token("k", "alice")).user_id
    store.create(ROLES, {"name": f"ak-managed-role--user-{pk}"})
    with pytest.raises(AccountError, match="exists that is not alice's own; rename it first"):
        store.grant(VIEW, user="alice")


def test_a_revoked_token_no_longer_identifies(store):
    store.create_user("alice")
    key = store.create_token("laptop", "alice")
    assert store.identity_for_token(key) is not None
    store.revoke_token("laptop")
    assert store.identity_for_token(key) is None
    with pytest.raises(AccountError, match="no token 'laptop'"):
        store.revoke_token("laptop")


def test_grants_name_their_objects_as_operators_do(store):
    """Sources and flows by slug, property mappings by name; the primary key beside."""
    source = store.create(SOURCES, {"name": "Home", "slug": "home-plex", "plex_token": "t"})
    flow = store.create(
        FLOWS, {"name": "f", "slug": "plex-login", "title": "t", "designation": "authentication"}
    )
    mapping = store.create(PLEX_MAPPINGS, {"name": "Plex email", "expression": "return {}"})
    store.create_user("alice")
    user_id = store.identity_for_token(store.create_token("k", "alice")).user_id
    store.link_plex_account(user_id, uuid.UUID(source["pk"]), "plex-1", "plex-token")
    _, (connection,) = store.list_page(
        CONNECTIONS, filters={}, search=None, ordering=None, window=lambda count: (0, 10)
    )
    store.grant(VIEW, user="alice", obj=source["pk"])  # granted by primary key
    store.grant("authentik_flows.view_flow", user="alice", obj="plex-login")
    store.grant(
        "authentik_sources_plex.change_plexsourcepropertymapping", user="alice", obj=mapping["pk"]
    )
    store.grant(
        "authentik_sources_plex.view_userplexsourceconnection",
        user="alice",
        obj=str(connection["pk"]),
    )
    store.grant("authentik_flows.add_flow", user="alice")
    listed = {g["permission"]: (g["object"], g["object_pk"]) for g in store.list_grants()}
    assert listed == {
        VIEW: ("home-plex", source["pk"]),
        "authentik_flows.view_flow": ("plex-login", flow["pk"]),
        "authentik_sources_plex.change_plexsourcepropertymapping": ("Plex email", mapping["pk"]),
        # A connection has neither slug nor name: its primary key is its name.
        "authentik_sources_plex.view_userplexsourceconnection": (
            str(connection["pk"]),
            str(connection["pk"]),
        ),
        "authentik_flows.add_flow": ("*", None),
    }


def test_tokens_are_listed_without_their_keys(store):
    store.create_user("alice")
    key = store.create_token("laptop", "alice")
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    other = store.create_token("ci", "akadmin", expires=expires)
    listed = store.list_tokens()
    assert listed == [
        {"identifier": "authentik-bootstrap-token", "user": "akadmin", "expiring": False,
         "expires": None},
        {"identifier": "ci", "user": "akadmin", "expiring": True, "expires": expires},
        {"identifier": "laptop", "user": "alice", "expiring": False, "expires": None},
    ]  # fmt: skip
    for secret in (key, other, Token.digest(key), Token.digest(other)):
        assert secret not in repr(listed)
    assert [t["identifier"] for t in store.list_tokens(user="alice")] == ["laptop"]
    with pytest.raises(AccountError, match="no user 'ghost'"):
        store.list_tokens(user="ghost")


def test_a_deleted_user_takes_its_tokens_grants_and_connections_along(store):
    source = store.create(SOURCES, {"name": "n", "slug": "s", "plex_token": "t"})
    store.create_user("alice")
    store.create_group("team")
    store.add_to_group("alice", "team")
    keys = [store.create_token(name, "alice") for name in ("laptop", "phone")]
    alice = store.identity_for_token(keys[0])
    store.link_plex_account(alice.user_id, uuid.UUID(source["pk"]), "plex-1", "plex-token")
    store.grant(VIEW, user="alice", obj="s")
    store.grant(VIEW, group="team")

    gone = store.delete_user("alice")

    assert gone == {"username": "alice", "tokens": 2, "grants": 1, "connections": 1}
    assert [store.identity_for_token(key) for key in keys] == [None, None]
    assert [u["username"] for u in store.list_users()] == ["akadmin"]
    assert [g["holder"] for g in store.list_grants()] == ["group:team"]  # the group's stays
    assert next(g for g in store.list_groups() if g["name"] == "team")["members"] == []
    assert count_rows(store, "user_plex_source_connection") == 0
    assert count_rows(store, "user_group") == 1  # akadmin's
    assert store.identity_for_token(TOKEN) is not None  # nobody else's
    with pytest.raises(AccountError, match="no user 'alice'"):
        store.delete_user("alice")


def test_a_migrated_database_has_tables(store, tmp_path):
    assert store.has_tables()
    empty = Store(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        assert not empty.has_tables()
    finally:
        empty.close()


def test_backup_copies_a_sqlite_database(store, tmp_path):
    target = tmp_path / "copy.sqlite3"
    if not store.is_sqlite:
        with pytest.raises(AccountError, match="for PostgreSQL use pg_dump"):
            store.backup(str(target))
        assert not target.exists()
        return
    store.create_user("alice")
    store.create_token("laptop", "alice")
    store.backup(str(target))
    copied = sqlite3.connect(target)
    try:
        users = copied.execute('SELECT username FROM "user" ORDER BY username').fetchall()
        tokens = copied.execute("SELECT identifier FROM token ORDER BY identifier").fetchall()
    finally:
        copied.close()
    assert users == [("akadmin",), ("alice",)]
    assert tokens == [("authentik-bootstrap-token",), ("laptop",)]
    with pytest.raises(AccountError, match="copy.sqlite3 exists already"):
        store.backup(str(target))
    with pytest.raises(AccountError, match="no directory"):
        store.backup(str(tmp_path / "missing" / "copy.sqlite3"))
