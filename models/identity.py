"""Users, groups and API tokens: who is calling.

Shaped after authentik's core models so that object permissions can be added beside
them: a user is a superuser when one of its groups is.
"""

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime

user_groups = Table(
    "user_group",
    Base.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("group_uuid", ForeignKey("group.group_uuid", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    name: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    path: Mapped[str] = mapped_column(Text, default="users")

    groups: Mapped[list["Group"]] = relationship(secondary=user_groups, back_populates="users")

    @property
    def is_superuser(self) -> bool:
        return any(group.is_superuser for group in self.groups)


class Group(Base):
    __tablename__ = "group"

    group_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text, unique=True)
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)

    users: Mapped[list[User]] = relationship(secondary=user_groups, back_populates="groups")


class Token(Base):
    """An API token. Only a SHA-256 digest of the key is stored; the key itself is
    shown once, when it is made, and cannot be read back from the database."""

    __tablename__ = "token"

    token_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    identifier: Mapped[str] = mapped_column(String(255), unique=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    intent: Mapped[str] = mapped_column(String(32), default="api")
    description: Mapped[str] = mapped_column(Text, default="")
    expiring: Mapped[bool] = mapped_column(Boolean, default=True)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))

    user: Mapped[User] = relationship()

    @staticmethod
    def digest(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class PermissionGrant(Base):
    """A permission given to a user or to a group: on every object of a model (global,
    `object_pk` null) or on one object. Codenames are authentik's, such as
    `authentik_sources_plex.change_plexsource`."""

    __tablename__ = "permission_grant"
    __table_args__ = (
        # Exactly one holder. (A unique constraint could not stop duplicates: NULLs differ.)
        CheckConstraint("(user_id IS NULL) != (group_uuid IS NULL)", name="one_holder"),
        # A holder's grants of one permission, read from the index alone: lists filter
        # by them in SQL, however many objects they cover. No index on the codename
        # alone: SQLite's planner took it and read every holder's grants
        # (docs/performance.md).
        Index("ix_permission_grant_user_codename_object", "user_id", "codename", "object_pk"),
        Index("ix_permission_grant_group_codename_object", "group_uuid", "codename", "object_pk"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    codename: Mapped[str] = mapped_column(String(150))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), nullable=True
    )
    group_uuid: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("group.group_uuid", ondelete="CASCADE"), nullable=True
    )
    object_pk: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
