"""models/resources.py: how each model is looked up and named."""

import uuid

import pytest
from sqlalchemy import select

from models.identity import User
from models.resources import (
    CONNECTIONS,
    FLOWS,
    KEYS,
    PLEX_MAPPINGS,
    SOURCES,
    USERS,
    column_key,
    grouped,
)


@pytest.mark.parametrize(
    ("column", "value", "key"),
    [
        (SOURCES.pk, "00000000-0000-0000-0000-000000000001",
         uuid.UUID("00000000-0000-0000-0000-000000000001")),
        (SOURCES.pk, "not-a-uuid", None),
        (CONNECTIONS.pk, "42", 42),
        (CONNECTIONS.pk, str(2**31), None),  # past the 32-bit column
        (CONNECTIONS.pk, "4x", None),
        (SOURCES.lookup, "a\x00b", None),  # PostgreSQL cannot compare a NUL
        (SOURCES.lookup, "plex", "plex"),
    ],
)  # fmt: skip
def test_column_key(column, value, key):
    assert column_key(column, value) == key


def test_codenames_are_authentiks():
    assert SOURCES.codename("change") == "authentik_sources_plex.change_plexsource"
    assert FLOWS.codename("view") == "authentik_flows.view_flow"
    assert PLEX_MAPPINGS.codename("add") == ("authentik_sources_plex.add_plexsourcepropertymapping")
    assert CONNECTIONS.codename("delete") == (
        "authentik_sources_plex.delete_userplexsourceconnection"
    )


def test_filters_are_columns_or_clauses_never_both():
    for resource in (SOURCES, FLOWS, PLEX_MAPPINGS, CONNECTIONS):
        assert not set(resource.filters) & set(resource.filter_clauses)
        assert set(resource.relation_filters) <= set(resource.filters)


def test_grouped_lists_rows_by_their_first_column(store):
    """One query for all keys (a key given twice counts once), rows made and listed by
    key in the query's order; no query at all for no keys."""
    bob, carol = (store.create(USERS, {"username": name})["pk"] for name in ("bob", "carol"))
    query = select(User.id, User.username).where(User.id.in_(KEYS)).order_by(User.id)
    with store.engine.connect() as connection:
        found = grouped(connection, query, [carol, bob, carol, 2**30], lambda row: row.username)
        assert grouped(connection, query, [], lambda row: row) == {}
    assert found == {bob: ["bob"], carol: ["carol"]}
