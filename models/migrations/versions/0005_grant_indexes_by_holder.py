"""grant indexes by holder

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

A holder's grants of one permission come from one index, without reading the table:
lists filter by them in SQL. The holder-only indexes are their prefixes, so they go; so
does the codename's, which SQLite's planner preferred, reading every holder's grants of
that permission.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("permission_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permission_grant_codename"))
        batch_op.drop_index(batch_op.f("ix_permission_grant_user_id"))
        batch_op.drop_index(batch_op.f("ix_permission_grant_group_uuid"))
        batch_op.create_index(
            "ix_permission_grant_user_codename_object", ["user_id", "codename", "object_pk"]
        )
        batch_op.create_index(
            "ix_permission_grant_group_codename_object", ["group_uuid", "codename", "object_pk"]
        )


def downgrade() -> None:
    with op.batch_alter_table("permission_grant", schema=None) as batch_op:
        batch_op.drop_index("ix_permission_grant_group_codename_object")
        batch_op.drop_index("ix_permission_grant_user_codename_object")
        batch_op.create_index(batch_op.f("ix_permission_grant_group_uuid"), ["group_uuid"])
        batch_op.create_index(batch_op.f("ix_permission_grant_user_id"), ["user_id"])
        batch_op.create_index(batch_op.f("ix_permission_grant_codename"), ["codename"])
