"""models/driver.py: Core statements run on the driver's cursor give what SQLAlchemy's
own execution gives, values converted alike, on both databases."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, MetaData, String, Table, bindparam, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from models.driver import CoreQuery, DriverQuery
from models.events import DEFAULT_RETENTION, EVENT_INSERTED, Event, event_row
from models.identity import Token, User
from models.resources import FLOWS, PLEX_MAPPINGS, SOURCES, USERS

SOURCE = {"name": "Plex", "slug": "plex", "plex_token": "t"}


def test_rows_are_the_ones_sqlalchemy_reads(store):
    """A UUID, a boolean, JSON, a datetime and the comma-joined mapping lists come back
    as SQLAlchemy's execution returns them."""
    mapping = store.create(PLEX_MAPPINGS, {"name": "m", "expression": "return {}"})
    flow = store.create(
        FLOWS, {"name": "f", "slug": "f", "title": "f", "designation": "authentication"}
    )
    store.create(
        SOURCES,
        {**SOURCE, "authentication_flow": flow["pk"], "user_property_mappings": [mapping["pk"]]},
    )
    store.create_user("alice")
    for resource, key in ((SOURCES, "plex"), (FLOWS, "f"), (USERS, None)):
        statement = resource.rows if key is None else resource.represented_by_key
        parameters = {} if key is None else {"key": key}
        with store.engine.connect() as connection:
            expected = [tuple(row) for row in connection.execute(statement, parameters)]
            assert DriverQuery(statement).rows(connection, parameters) == expected
            assert expected  # the comparison compared something
    with store.engine.connect() as connection:
        (row,) = DriverQuery(SOURCES.represented_by_key).rows(connection, {"key": "plex"})
    named = SOURCES.named(row)
    assert isinstance(named.pbm_uuid, uuid.UUID)
    assert named.authentication_flow_id == uuid.UUID(flow["pk"])
    assert named.enabled is True
    assert named.user_mapping_pks.replace("-", "") == mapping["pk"].replace("-", "")


def test_values_the_statement_fixes_are_sent(store):
    """`Token.intent == "api"` is a parameter SQLAlchemy binds itself: the driver run
    binds it too, so a key of another intent is not found."""
    key = store.create_token("t", "akadmin")
    query = DriverQuery(
        select(Token.identifier, Token.expires).where(
            Token.key_digest == bindparam("digest"), Token.intent == "api"
        )
    )
    with store.engine.connect() as connection:
        assert query.rows(connection, {"digest": Token.digest(key)}) == [("t", None)]
        assert query.one_or_none(connection, {"digest": Token.digest("other")}) is None


def test_a_datetime_parameter_and_result_are_converted(store):
    store.create_user("alice")
    cutoff = datetime.now(UTC) - timedelta(days=1)
    query = DriverQuery(select(User.username, User.date_joined).where(
        User.date_joined > bindparam("since", type_=User.date_joined.type)
    ))  # fmt: skip
    with store.engine.connect() as connection:
        found = dict(query.rows(connection, {"since": cutoff}))
        assert query.rows(connection, {"since": datetime.now(UTC) + timedelta(days=1)}) == []
    assert found["alice"].tzinfo is not None and found["alice"] > cutoff


def test_scalar_and_the_core_twin_agree(store):
    store.create(SOURCES, SOURCE)
    with store.engine.connect() as connection:
        assert DriverQuery(SOURCES.counted).scalar(connection) == 1
        assert CoreQuery(SOURCES.counted).scalar(connection) == 1
        assert CoreQuery(SOURCES.counted.where(SOURCES.pk.is_(None))).rows(connection) == [(0,)]


def test_a_missing_parameter_is_named(store):
    with store.engine.connect() as connection, pytest.raises(KeyError, match="'key'"):
        DriverQuery(SOURCES.represented_by_key).rows(connection, {})


def test_an_in_list_is_refused(store):
    query = DriverQuery(
        select(User.id).where(User.username.in_(bindparam("names", expanding=True)))
    )
    with store.engine.connect() as connection, pytest.raises(ValueError, match="IN list"):
        query.rows(connection, {"names": ["akadmin"]})


def test_a_driver_error_is_sqlalchemys(store):
    """A failure is raised as SQLAlchemy's own execution raises it (callers such as
    plex-admin's hints catch SQLAlchemy's errors), and its message, like SQLAlchemy's
    own, never shows the values sent (a Plex token, say)."""
    nowhere = Table("no_such_table", MetaData(), Column("secret", String))
    statement = select(nowhere.c.secret).where(nowhere.c.secret == bindparam("secret"))
    with store.engine.connect() as connection:
        with pytest.raises(DBAPIError) as on_driver:
            DriverQuery(statement).rows(connection, {"secret": "plex-token-value"})
        connection.rollback()
        with pytest.raises(DBAPIError) as through_sqlalchemy:
            connection.execute(statement, {"secret": "plex-token-value"})
    for failed in (on_driver, through_sqlalchemy):
        assert "no_such_table" in failed.value.statement
        assert "plex-token-value" not in str(failed.value)


def test_a_write_on_the_driver_stores_what_sqlalchemy_would(store):
    """An event's row (a UUID, datetimes, JSON) inserted on the driver reads back as one
    inserted through SQLAlchemy's own execution does."""
    event = {"model": {"app": "a", "model_name": "m", "pk": "1", "name": "n"}}
    rows = [event_row("model_created", event, retention=DEFAULT_RETENTION) for _ in range(2)]
    with store.engine.connect() as connection, connection.begin():
        assert DriverQuery(EVENT_INSERTED).execute(connection, rows[0]) == 1
        connection.execute(EVENT_INSERTED, rows[1])
    with store.engine.connect() as connection:
        read = {row.id: row._asdict() for row in connection.execute(select(Event))}
    assert read == {row["id"]: row for row in rows}


def test_a_write_on_the_driver_is_in_the_callers_transaction(store):
    """It counts the rows it changed, and goes with the transaction when that rolls
    back; a constraint it breaks is SQLAlchemy's IntegrityError, as callers catch it."""
    store.create(SOURCES, SOURCE)
    with store.engine.connect() as connection:
        with connection.begin() as transaction:
            assert SOURCES.deleted.execute(connection, {"pk": uuid.uuid4()}) == 0
            pk = DriverQuery(select(SOURCES.pk)).scalar(connection)
            assert SOURCES.deleted.execute(connection, {"pk": pk}) == 1
            transaction.rollback()
        with connection.begin(), pytest.raises(IntegrityError):
            row = event_row("model_created", {}, retention=DEFAULT_RETENTION)
            DriverQuery(EVENT_INSERTED).execute(connection, row)
            DriverQuery(EVENT_INSERTED).execute(connection, row)
    assert [source["slug"] for source in store.list_page(
        SOURCES, filters={}, search=None, ordering=None, window=lambda count: (0, 10)
    )[1]] == ["plex"]  # fmt: skip


def test_a_write_outside_a_transaction_is_refused(store):
    """The cursor would not begin one, and SQLite would commit the write alone."""
    with store.engine.connect() as connection, pytest.raises(ValueError, match="transaction"):
        SOURCES.deleted.execute(connection, {"pk": uuid.uuid4()})
