"""permissions held by roles

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

authentik 2026 gives permissions to roles only, and roles to users and groups. Each user
or group that held grants gets its managed role (`ak-managed-role--user-<pk>`,
`ak-managed-role--group-<uuid>`), holding the same permissions; then the grants table
goes. The downgrade turns every role's permissions back into grants of its holders.
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

grants = sa.table(
    "permission_grant",
    sa.column("id", sa.Integer()),
    sa.column("codename", sa.String()),
    sa.column("user_id", sa.Integer()),
    sa.column("group_uuid", sa.Uuid()),
    sa.column("object_pk", sa.String()),
)
roles = sa.table(
    "role",
    sa.column("role_uuid", sa.Uuid()),
    sa.column("name", sa.Text()),
    sa.column("managed", sa.Text()),
)
user_roles = sa.table(
    "user_role", sa.column("user_id", sa.Integer()), sa.column("role_uuid", sa.Uuid())
)
group_roles = sa.table(
    "group_role", sa.column("group_uuid", sa.Uuid()), sa.column("role_uuid", sa.Uuid())
)
role_permissions = sa.table(
    "role_permission",
    sa.column("role_uuid", sa.Uuid()),
    sa.column("codename", sa.String()),
    sa.column("object_pk", sa.String()),
)


def upgrade() -> None:
    op.create_table(
        "role",
        sa.Column("role_uuid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("managed", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("role_uuid", name=op.f("pk_role")),
        sa.UniqueConstraint("managed", name=op.f("uq_role_managed")),
        sa.UniqueConstraint("name", name=op.f("uq_role_name")),
    )
    op.create_table(
        "group_role",
        sa.Column("group_uuid", sa.Uuid(), nullable=False),
        sa.Column("role_uuid", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["group_uuid"], ["group.group_uuid"],
                                name=op.f("fk_group_role_group_uuid_group"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["role_uuid"], ["role.role_uuid"],
                                name=op.f("fk_group_role_role_uuid_role"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_uuid", "role_uuid", name=op.f("pk_group_role")),
    )  # fmt: skip
    op.create_table(
        "user_role",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_uuid", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["role_uuid"], ["role.role_uuid"],
                                name=op.f("fk_user_role_role_uuid_role"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"],
                                name=op.f("fk_user_role_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "role_uuid", name=op.f("pk_user_role")),
    )  # fmt: skip
    op.create_table(
        "role_permission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role_uuid", sa.Uuid(), nullable=False),
        sa.Column("codename", sa.String(length=150), nullable=False),
        sa.Column("object_pk", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["role_uuid"], ["role.role_uuid"],
                                name=op.f("fk_role_permission_role_uuid_role"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_permission")),
    )  # fmt: skip
    with op.batch_alter_table("role_permission", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_role_permission_object_pk"), ["object_pk"])
        batch_op.create_index(
            "ix_role_permission_role_codename_object", ["role_uuid", "codename", "object_pk"]
        )

    connection = op.get_bind()
    made: dict[tuple[str, object], uuid.UUID] = {}
    for codename, user_id, group_uuid, object_pk in connection.execute(
        sa.select(
            grants.c.codename, grants.c.user_id, grants.c.group_uuid, grants.c.object_pk
        ).order_by(grants.c.id)
    ):
        kind, holder = ("user", user_id) if user_id is not None else ("group", group_uuid)
        role = made.get((kind, holder))
        if role is None:
            role = made[(kind, holder)] = uuid.uuid4()
            name = f"ak-managed-role--{kind}-{holder}"
            connection.execute(roles.insert().values(role_uuid=role, name=name, managed=name))
            link = user_roles if kind == "user" else group_roles
            key = "user_id" if kind == "user" else "group_uuid"
            connection.execute(link.insert().values({key: holder, "role_uuid": role}))
        connection.execute(
            role_permissions.insert().values(role_uuid=role, codename=codename, object_pk=object_pk)
        )
    op.drop_table("permission_grant")


def downgrade() -> None:
    op.create_table(
        "permission_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("codename", sa.String(length=150), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("group_uuid", sa.Uuid(), nullable=True),
        sa.Column("object_pk", sa.String(length=64), nullable=True),
        sa.CheckConstraint("(user_id IS NULL) != (group_uuid IS NULL)",
                           name=op.f("ck_permission_grant_one_holder")),
        sa.ForeignKeyConstraint(["group_uuid"], ["group.group_uuid"],
                                name=op.f("fk_permission_grant_group_uuid_group"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"],
                                name=op.f("fk_permission_grant_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_grant")),
    )  # fmt: skip
    with op.batch_alter_table("permission_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_permission_grant_object_pk"), ["object_pk"])
        batch_op.create_index(
            "ix_permission_grant_user_codename_object", ["user_id", "codename", "object_pk"]
        )
        batch_op.create_index(
            "ix_permission_grant_group_codename_object", ["group_uuid", "codename", "object_pk"]
        )
    connection = op.get_bind()
    for holder, key in ((user_roles, "user_id"), (group_roles, "group_uuid")):
        held = sa.select(holder.c[key], role_permissions.c.codename, role_permissions.c.object_pk)
        held = held.join(role_permissions, role_permissions.c.role_uuid == holder.c.role_uuid)
        for value, codename, object_pk in connection.execute(held):
            connection.execute(
                grants.insert().values({key: value, "codename": codename, "object_pk": object_pk})
            )
    op.drop_table("role_permission")
    op.drop_table("user_role")
    op.drop_table("group_role")
    op.drop_table("role")
