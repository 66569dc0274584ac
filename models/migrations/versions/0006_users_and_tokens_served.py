"""users and tokens served by the API

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Users gain the fields authentik's API shows (uuid, type, attributes and their dates),
groups their attributes, tokens a `managed` mark, and the database an install id, which users' `uid` derives
from. Existing users get a fresh uuid each and today's date where a date is needed.
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "install_id",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_install_id")),
    )
    install_id = sa.table("install_id", sa.column("id", sa.Uuid()))
    op.execute(install_id.insert().values(id=uuid.uuid4()))

    today = datetime.now(UTC)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uuid", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("type", sa.String(length=32), nullable=False, server_default="internal")
        )
        batch_op.add_column(sa.Column("attributes", sa.JSON(), nullable=True))
        for name in ("date_joined", "last_updated", "password_change_date", "last_login"):
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))

    users = sa.table(
        "user",
        sa.column("id", sa.Integer()),
        sa.column("uuid", sa.Uuid()),
        sa.column("attributes", sa.JSON()),
        *(sa.column(n, sa.DateTime(timezone=True)) for n in
          ("date_joined", "last_updated", "password_change_date")),
    )  # fmt: skip
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.select(users.c.id)):
        connection.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(
                uuid=uuid.uuid4(),
                attributes={},
                date_joined=today,
                last_updated=today,
                password_change_date=today,
            )
        )

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.alter_column("type", server_default=None)
        for name in ("uuid", "attributes", "date_joined", "last_updated", "password_change_date"):
            batch_op.alter_column(name, nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_user_uuid"), ["uuid"])

    with op.batch_alter_table("group", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attributes", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
    with op.batch_alter_table("group", schema=None) as batch_op:
        batch_op.alter_column("attributes", server_default=None)

    with op.batch_alter_table("token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("managed", sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_token_managed"), ["managed"])


def downgrade() -> None:
    with op.batch_alter_table("token", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_token_managed"), type_="unique")
        batch_op.drop_column("managed")
    with op.batch_alter_table("group", schema=None) as batch_op:
        batch_op.drop_column("attributes")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_user_uuid"), type_="unique")
        for name in ("last_login", "password_change_date", "last_updated", "date_joined"):
            batch_op.drop_column(name)
        for name in ("attributes", "type", "uuid"):
            batch_op.drop_column(name)
    op.drop_table("install_id")
