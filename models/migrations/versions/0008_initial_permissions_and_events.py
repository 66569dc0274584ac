"""initial permissions and events served

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Roles gain initial permissions (what a role receives on the objects its holders create).
Events take authentik's shape: who acted, from where, in which app, when they expire;
the message moves into the context (`context.message`) and the source into
`context.source`, as authentik describes objects in events. The downgrade moves them
back.
"""

import uuid
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

events = sa.table(
    "event",
    sa.column("id", sa.Uuid()),
    sa.column("created", sa.DateTime(timezone=True)),
    sa.column("expires", sa.DateTime(timezone=True)),
    sa.column("message", sa.Text()),
    sa.column("source_pk", sa.Uuid()),
    sa.column("context", sa.JSON()),
    sa.column("user", sa.JSON()),
    sa.column("brand", sa.JSON()),
    sa.column("model_app", sa.Text()),
    sa.column("model_name", sa.Text()),
    sa.column("model_pk", sa.Text()),
)
RETENTION = timedelta(days=365)
sources = sa.table("plex_source", sa.column("pbm_uuid", sa.Uuid()), sa.column("name", sa.Text()))


def upgrade() -> None:
    op.create_table(
        "initial_permissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("role_uuid", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["role_uuid"], ["role.role_uuid"],
                                name=op.f("fk_initial_permissions_role_uuid_role"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initial_permissions")),
        sa.UniqueConstraint("name", name=op.f("uq_initial_permissions_name")),
    )  # fmt: skip
    op.create_table(
        "initial_permissions_codename",
        sa.Column("initial_id", sa.Integer(), nullable=False),
        sa.Column("codename", sa.String(length=150), nullable=False),
        sa.ForeignKeyConstraint(["initial_id"], ["initial_permissions.id"],
                                name=op.f("fk_initial_permissions_codename_initial_id_initial_permissions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("initial_id", "codename",
                                name=op.f("pk_initial_permissions_codename")),
    )  # fmt: skip

    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.alter_column("action", type_=sa.String(length=64), existing_nullable=False)
        batch_op.add_column(sa.Column("expires", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("app", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("user", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("client_ip", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("brand", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("username", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("model_app", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("model_name", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("model_pk", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_event_expires"), ["expires"])
        batch_op.create_index(batch_op.f("ix_event_username"), ["username"])
        batch_op.create_index(batch_op.f("ix_event_model_pk"), ["model_pk"])

    connection = op.get_bind()
    names = dict(connection.execute(sa.select(sources.c.pbm_uuid, sources.c.name)).all())
    rows = connection.execute(
        sa.select(
            events.c.id, events.c.created, events.c.message, events.c.source_pk, events.c.context
        )
    ).all()
    for pk, created, message, source_pk, context in rows:
        context = {**(context or {}), "message": message}
        if source_pk is not None:
            context["source"] = {
                "app": "authentik_sources_plex",
                "model_name": "plexsource",
                "pk": source_pk.hex,
                "name": names.get(source_pk, ""),
            }
        # Kept as long as new events are by default (authentik's 365 days).
        expires = created + RETENTION
        connection.execute(
            events.update()
            .where(events.c.id == pk)
            .values(context=context, user={}, brand={}, expires=expires)
        )

    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.alter_column("user", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("brand", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_constraint("fk_event_source_pk_plex_source", type_="foreignkey")
        batch_op.drop_column("source_pk")
        batch_op.drop_column("message")


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("source_pk", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            "fk_event_source_pk_plex_source",
            "plex_source",
            ["source_pk"],
            ["pbm_uuid"],
            ondelete="SET NULL",
        )

    connection = op.get_bind()
    known = set(connection.execute(sa.select(sources.c.pbm_uuid)).scalars())
    for pk, context in connection.execute(sa.select(events.c.id, events.c.context)).all():
        context = dict(context or {})
        message = str(context.pop("message", ""))
        source = context.pop("source", None)
        source_pk = None
        if isinstance(source, dict) and source.get("pk"):
            source_pk = uuid.UUID(str(source["pk"]))
            source_pk = source_pk if source_pk in known else None
        connection.execute(
            events.update()
            .where(events.c.id == pk)
            .values(message=message, source_pk=source_pk, context=context)
        )

    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.alter_column("message", existing_type=sa.Text(), server_default=None)
        batch_op.drop_index(batch_op.f("ix_event_model_pk"))
        batch_op.drop_index(batch_op.f("ix_event_username"))
        batch_op.drop_index(batch_op.f("ix_event_expires"))
        for name in ("model_pk", "model_name", "model_app", "username", "brand", "client_ip",
                     "user", "app", "expires"):  # fmt: skip
            batch_op.drop_column(name)
        batch_op.alter_column("action", type_=sa.String(length=32), existing_nullable=False)
    op.drop_table("initial_permissions_codename")
    op.drop_table("initial_permissions")
