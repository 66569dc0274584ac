"""Alembic migrations: they build exactly the models, and upgrade existing data."""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlalchemy import create_engine, text

from models import migrate
from models.store import Store, normalise_url


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


def test_grants_become_permissions_of_managed_roles(fresh_database_url):
    """0007: each user or group that held grants gets authentik's managed role with the
    same permissions, and the permission checks answer as before; down and up again."""
    url = fresh_database_url
    config = migrate.alembic_config(url)
    command.upgrade(config, "0006")
    engine = create_engine(normalise_url(url))
    group = uuid.uuid4()
    view = "authentik_sources_plex.view_plexsource"
    now = datetime.now(UTC)
    user_row = {
        "id": 7, "username": "alice", "name": "", "email": "", "is_active": True,
        "path": "users", "uuid": uuid.uuid4(), "type": "internal", "attributes": {},
        "date_joined": now, "last_updated": now, "password_change_date": now,
    }  # fmt: skip
    tables = {
        "group": sa.table("group", sa.column("group_uuid", sa.Uuid()), sa.column("name"),
                          sa.column("is_superuser"), sa.column("attributes", sa.JSON())),
        "user_group": sa.table("user_group", sa.column("user_id"),
                               sa.column("group_uuid", sa.Uuid())),
        "permission_grant": sa.table("permission_grant", sa.column("user_id"),
                                     sa.column("group_uuid", sa.Uuid()), sa.column("codename"),
                                     sa.column("object_pk")),
    }  # fmt: skip
    user_table = sa.table(
        "user",
        *(sa.column(n, sa.Uuid() if n == "uuid" else sa.JSON() if n == "attributes"
                    else sa.DateTime(timezone=True) if isinstance(v, datetime) else None)
          for n, v in user_row.items()),
    )  # fmt: skip
    with engine.begin() as connection:
        connection.execute(user_table.insert().values(user_row))
        connection.execute(
            tables["group"]
            .insert()
            .values(group_uuid=group, name="team", is_superuser=False, attributes={})
        )
        connection.execute(tables["user_group"].insert().values(user_id=7, group_uuid=group))
        for user_id, group_uuid, codename, object_pk in (
            (7, None, "authentik_flows.add_flow", None),
            (7, None, view, "a1"),
            (None, group, view, "b2"),
        ):
            connection.execute(
                tables["permission_grant"]
                .insert()
                .values(
                    user_id=user_id, group_uuid=group_uuid, codename=codename, object_pk=object_pk
                )
            )
    try:
        migrate.upgrade(url)
        store = Store(url)
        try:
            grants = sorted(
                (g["holder"], g["permission"], g["object_pk"] or "*") for g in store.list_grants()
            )
            assert grants == [
                ("group:team", view, "b2"),
                ("user:alice", "authentik_flows.add_flow", "*"),
                ("user:alice", view, "a1"),
            ]
            key = store.create_token("alice-key", "alice")
            alice = store.identity_for_token(key)
            assert alice.global_permissions == {"authentik_flows.add_flow"}
            alice = store.with_grants_on(alice, ["a1", "b2", "c3"])
            assert [alice.has_perm(view, pk) for pk in ("a1", "b2", "c3")] == [True, True, False]
        finally:
            store.close()
        with engine.connect() as connection:
            managed = sorted(connection.execute(text("SELECT managed FROM role")).scalars())
        assert managed == [f"ak-managed-role--group-{group}", "ak-managed-role--user-7"]

        command.downgrade(config, "0006")
        with engine.connect() as connection:
            back = connection.execute(
                text("SELECT user_id, codename, object_pk FROM permission_grant ORDER BY 2, 3")
            ).all()
        assert [tuple(row) for row in back] == [
            (7, "authentik_flows.add_flow", None),
            (7, view, "a1"),
            (None, view, "b2"),
        ]
        migrate.upgrade(url)
        migrate.check(url)
    finally:
        engine.dispose()


def test_events_from_before_0008_keep_their_message_and_source(fresh_database_url):
    """0008: an event's message moves into `context.message` and its source into
    `context.source`, as authentik describes objects; the API lists it; down and up."""
    url = fresh_database_url
    config = migrate.alembic_config(url)
    command.upgrade(config, "0007")
    engine = create_engine(normalise_url(url))
    source, event = uuid.uuid4(), uuid.uuid4()
    created = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    sources = sa.table("plex_source", *(sa.column(n) for n in ("name", "slug", "client_id",
                       "plex_token", "allow_friends", "enabled", "promoted",
                       "policy_engine_mode", "user_matching_mode", "group_matching_mode",
                       "user_path_template", "icon")), sa.column("pbm_uuid", sa.Uuid()),
                       sa.column("allowed_servers", sa.JSON()))  # fmt: skip
    events = sa.table(
        "event", sa.column("id", sa.Uuid()), sa.column("created", sa.DateTime(timezone=True)),
        sa.column("action"), sa.column("message"), sa.column("source_pk", sa.Uuid()),
        sa.column("context", sa.JSON()),
    )  # fmt: skip
    with engine.begin() as connection:
        connection.execute(
            sources.insert().values(
                pbm_uuid=source, name="Home", slug="home", client_id="c", plex_token="t",
                allowed_servers=[], allow_friends=True, enabled=True, promoted=False,
                policy_engine_mode="any", user_matching_mode="identifier",
                group_matching_mode="identifier", user_path_template="", icon="",
            )
        )  # fmt: skip
        connection.execute(
            events.insert().values(
                id=event, created=created, action="configuration_error",
                message="Plex token invalid", source_pk=source, context={},
            )
        )  # fmt: skip
    try:
        migrate.upgrade(url)
        store = Store(url)
        try:
            (listed,) = store.list_events()
        finally:
            store.close()
        assert listed["message"] == "Plex token invalid"
        with engine.connect() as connection:
            expires = connection.execute(text("SELECT expires FROM event")).scalar_one()
        assert str(expires).startswith("2027-11-30 12:00")  # a year after it happened
        assert listed["context"] == {
            "message": "Plex token invalid",
            "source": {"app": "authentik_sources_plex", "model_name": "plexsource",
                       "pk": source.hex, "name": "Home"},
        }  # fmt: skip

        command.downgrade(config, "0007")
        with engine.connect() as connection:
            back = connection.execute(text("SELECT message, source_pk, context FROM event")).one()
        assert back[0] == "Plex token invalid"
        assert uuid.UUID(str(back[1])) == source
        migrate.upgrade(url)
        migrate.check(url)
    finally:
        engine.dispose()
