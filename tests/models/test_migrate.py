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
