"""Alembic migrations: they build exactly the models, and upgrade existing data."""

import uuid

from alembic import command
from sqlalchemy import create_engine, text

from models import migrate
from models.store import normalise_url


def test_models_and_migrations_agree(database_url):
    # The session's database is migrated to head; `alembic check` compares it to models.
    migrate.check(database_url)


def test_flows_from_the_first_schema_get_authentiks_defaults(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    command.upgrade(migrate.alembic_config(url), "0001")
    engine = create_engine(normalise_url(url))
    flow = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO flow (flow_uuid, name, slug) VALUES (:pk, 'Old', 'old')"),
            {"pk": flow.hex},
        )

    migrate.upgrade(url)

    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM flow")).mappings().one()
    engine.dispose()
    assert dict(row) == {
        "flow_uuid": flow.hex,
        "name": "Old",
        "slug": "old",
        "title": "",
        "designation": "authentication",
        "background": "",
        "policy_engine_mode": "any",
        "compatibility_mode": 0,
        "layout": "stacked",
        "denied_action": "message_continue",
        "authentication": "none",
    }


def test_users_from_before_0006_get_the_fields_the_api_serves(fresh_database_url):
    """Existing users get a uuid each, dates and empty attributes; the install id is made
    once; tokens and groups are kept; 0006 goes down and up again."""
    url = fresh_database_url
    config = migrate.alembic_config(url)
    command.upgrade(config, "0005")
    engine = create_engine(normalise_url(url))
    with engine.begin() as connection:
        for name in ("alice", "bob"):
            connection.execute(
                text(
                    'INSERT INTO "user" (username, name, email, is_active, path) '
                    "VALUES (:name, '', '', true, 'users')"
                ),
                {"name": name},
            )
    try:
        migrate.upgrade(url)
        with engine.connect() as connection:
            users = connection.execute(
                text('SELECT username, uuid, type, attributes, date_joined FROM "user"')
            ).all()
            install_ids = connection.execute(text("SELECT id FROM install_id")).all()
        assert sorted(u.username for u in users) == ["alice", "bob"]
        assert len({u.uuid for u in users}) == 2
        assert all(u.type == "internal" and u.date_joined is not None for u in users)
        assert all(u.attributes in ({}, "{}") for u in users)
        assert len(install_ids) == 1

        command.downgrade(config, "0005")
        with engine.connect() as connection:
            names = connection.execute(text('SELECT username FROM "user" ORDER BY 1')).scalars()
            assert list(names) == ["alice", "bob"]
        migrate.upgrade(url)
        migrate.check(url)
    finally:
        engine.dispose()
