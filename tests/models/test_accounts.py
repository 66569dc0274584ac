"""models/accounts.py: users, groups, tokens and grants as plex-admin changes them."""

import re

import pytest

from models.accounts import AccountError, generate_key
from models.resources import SOURCES

VIEW = "authentik_sources_plex.view_plexsource"


def test_keys_are_60_random_letters_and_digits():
    keys = {generate_key() for _ in range(20)}
    assert len(keys) == 20 and all(re.fullmatch(r"[A-Za-z0-9]{60}", k) for k in keys)


def test_a_user_and_a_group_exist_once(store):
    store.create_user("alice")
    store.create_group("team")
    with pytest.raises(AccountError, match="user 'alice' exists already"):
        store.create_user("alice")
    with pytest.raises(AccountError, match="group 'team' exists already"):
        store.create_group("team")


def test_group_membership_and_superusers(store):
    store.create_user("alice")
    store.create_group("admins", is_superuser=True)
    store.add_to_group("alice", "admins")
    alice = next(u for u in store.list_users() if u["username"] == "alice")
    assert alice == {"username": "alice", "active": True, "superuser": True, "groups": ["admins"]}


def test_grants_reach_a_user_directly_and_through_groups(store):
    source = store.create(SOURCES, {"name": "n", "slug": "s", "plex_token": "t"})
    store.create_user("alice")
    store.create_group("team")
    store.add_to_group("alice", "team")
    store.grant(VIEW, group="team", obj="s")
    store.grant(VIEW, user="alice")
    grants = store.list_grants(user="alice")
    assert {(g["holder"], g["object"]) for g in grants} == {
        ("group:team", source["pk"]),
        ("user:alice", "*"),
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


def test_a_revoked_token_no_longer_identifies(store):
    store.create_user("alice")
    key = store.create_token("laptop", "alice")
    assert store.identity_for_token(key) is not None
    store.revoke_token("laptop")
    assert store.identity_for_token(key) is None
    with pytest.raises(AccountError, match="no token 'laptop'"):
        store.revoke_token("laptop")
