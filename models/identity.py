"""Users, groups and API tokens: who is calling.

Shaped after authentik's core models so that object permissions can be added beside
them: a user is a superuser when one of its groups is.
"""

import hashlib
import uuid
from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import select

from models.base import Base, UTCDateTime, api_datetime, now

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
    uuid: Mapped[UUID] = mapped_column(Uuid, unique=True, default=uuid4)
    # internal, external, service_account or internal_service_account (authentik's)
    type: Mapped[str] = mapped_column(String(32), default="internal")
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    date_joined: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_login: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
    # Passwords are not served here; the date is kept for the wire (when the user was made).
    password_change_date: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    groups: Mapped[list["Group"]] = relationship(secondary=user_groups, back_populates="users")

    @property
    def is_superuser(self) -> bool:
        return any(group.is_superuser for group in self.groups)


class Group(Base):
    __tablename__ = "group"

    group_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text, unique=True)
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)

    users: Mapped[list[User]] = relationship(secondary=user_groups, back_populates="groups")


# Whether the user of the enclosing query (`User.id`) is in a superuser group: what
# makes a user a superuser.
IN_A_SUPERUSER_GROUP = (
    select(user_groups.c.user_id)
    .join(Group, Group.group_uuid == user_groups.c.group_uuid)
    .where(user_groups.c.user_id == User.id, Group.is_superuser)
    .exists()
)


class Token(Base):
    """An API token. Only a SHA-256 digest of the key is stored; the key itself is
    shown once, when it is made, and cannot be read back from the database."""

    __tablename__ = "token"

    token_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    identifier: Mapped[str] = mapped_column(String(255), unique=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    intent: Mapped[str] = mapped_column(String(32), default="api")
    description: Mapped[str] = mapped_column(Text, default="")
    # Set on objects a deployment manages itself (authentik's `managed`); unique.
    managed: Mapped[str | None] = mapped_column(Text, unique=True, nullable=True)
    expiring: Mapped[bool] = mapped_column(Boolean, default=True)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))

    user: Mapped[User] = relationship()

    @staticmethod
    def digest(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class Role(Base):
    """A set of permissions, given to users and to groups (authentik 2026's model: nobody
    holds a permission otherwise). A user's or a group's own permissions live on its
    managed role, named `ak-managed-role--user-<pk>` / `ak-managed-role--group-<uuid>`."""

    __tablename__ = "role"

    role_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text, unique=True)
    managed: Mapped[str | None] = mapped_column(Text, unique=True, nullable=True)


user_roles = Table(
    "user_role",
    Base.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_uuid", ForeignKey("role.role_uuid", ondelete="CASCADE"), primary_key=True),
)
group_roles = Table(
    "group_role",
    Base.metadata,
    Column("group_uuid", ForeignKey("group.group_uuid", ondelete="CASCADE"), primary_key=True),
    Column("role_uuid", ForeignKey("role.role_uuid", ondelete="CASCADE"), primary_key=True),
)


def managed_role_name(kind: str, key) -> str:
    """authentik's name of the role that holds a user's (`user`) or a group's (`group`)
    own permissions."""
    return f"ak-managed-role--{kind}-{key}"


def roles_of(user_id):
    """The roles a user holds (a select of role UUIDs): its own and its groups'."""
    own = select(user_roles.c.role_uuid).where(user_roles.c.user_id == user_id)
    of_groups = (
        select(group_roles.c.role_uuid)
        .join(user_groups, user_groups.c.group_uuid == group_roles.c.group_uuid)
        .where(user_groups.c.user_id == user_id)
    )
    return own.union(of_groups)


class RolePermission(Base):
    """A permission a role holds: on every object of a model (global, `object_pk` null)
    or on one object. Codenames are authentik's, such as
    `authentik_sources_plex.change_plexsource`."""

    __tablename__ = "role_permission"
    __table_args__ = (
        # A role's permissions of one kind, read from the index alone: lists filter by
        # them in SQL, however many objects they cover (docs/performance.md).
        Index("ix_role_permission_role_codename_object", "role_uuid", "codename", "object_pk"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role_uuid: Mapped[uuid.UUID] = mapped_column(ForeignKey("role.role_uuid", ondelete="CASCADE"))
    codename: Mapped[str] = mapped_column(String(150))
    object_pk: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class InitialPermissions(Base):
    """Permissions a role receives on each object that one of its holders creates
    through the API (those of the created object's model): how a creator gets to see and
    change what it made (docs/behaviour.md §4)."""

    __tablename__ = "initial_permissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(150), unique=True)
    role_uuid: Mapped[uuid.UUID] = mapped_column(ForeignKey("role.role_uuid", ondelete="CASCADE"))


# The codenames of each set (`app_label.codename`); the API names them by their id in
# the permission catalogue (models/resources.py).
initial_permission_codenames = Table(
    "initial_permissions_codename",
    Base.metadata,
    Column(
        "initial_id",
        ForeignKey("initial_permissions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("codename", String(150), primary_key=True),
)


class InstallId(Base):
    """This database's install id, made once by its migration: users' `uid` derives from
    it, so that it is stable for the installation and differs between installations."""

    __tablename__ = "install_id"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)


# authentik's avatar when avatars are turned off (its `none` mode): this server keeps no
# avatars, so every user shows it (docs/behaviour.md §10).
DEFAULT_AVATAR = "/static/dist/assets/images/user_default.png"


def user_uid(install_id, pk: int) -> str:
    """authentik's stable, opaque user id: a digest of the pk and the install id."""
    return hashlib.sha256(f"{pk}-{install_id}".encode()).hexdigest()


def _datetime_or_none(value: datetime | None) -> str | None:
    return None if value is None else api_datetime(value)


def partial_group_api(group) -> dict:
    """A PartialGroup: a group without its members and relations, of a Group or a row."""
    return {
        "pk": str(group.group_uuid),
        "num_pk": group_num_pk(group.group_uuid),
        "name": group.name,
        "is_superuser": group.is_superuser,
        "attributes": group.attributes,
    }


def group_num_pk(group_uuid: uuid.UUID) -> int:
    """authentik's numeric group id: the first five digits of the uuid as an integer."""
    return int(str(group_uuid.int)[:5])


def user_api(user, groups: list[dict], roles: list[dict]) -> dict:
    """The User representation, in authentik's field order, of a User or a row of its
    table with `install_id`; `groups` and `roles` are the user's, as PartialGroup and
    Role dicts."""
    return {
        "pk": user.id,
        "username": user.username,
        "name": user.name,
        "is_active": user.is_active,
        "last_login": _datetime_or_none(user.last_login),
        "date_joined": api_datetime(user.date_joined),
        "is_superuser": any(group["is_superuser"] for group in groups),
        "groups": [group["pk"] for group in groups],
        "groups_obj": groups,
        "roles": [role["pk"] for role in roles],
        "roles_obj": roles,
        "email": user.email,
        "avatar": DEFAULT_AVATAR,
        "attributes": user.attributes,
        "uid": user_uid(user.install_id, user.id),
        "path": user.path,
        "type": user.type,
        "uuid": str(user.uuid),
        "password_change_date": api_datetime(user.password_change_date),
        "last_updated": api_datetime(user.last_updated),
    }


def token_api(token, user: dict) -> dict:
    """The Token representation, of a Token or a row of its table, given its user's
    representation. Never the key (only its digest is stored)."""
    return {
        "pk": str(token.token_uuid),
        "managed": token.managed,
        "identifier": token.identifier,
        "intent": token.intent,
        "user": token.user_id,
        "user_obj": user,
        "description": token.description,
        "expires": _datetime_or_none(token.expires),
        "expiring": token.expiring,
    }


def user_self_api(user: dict) -> dict:
    """UserSelf, what a caller reads of itself at /core/users/me/, from its User
    representation. No settings or system permissions are kept here: both are empty."""
    return {
        "pk": user["pk"],
        "username": user["username"],
        "name": user["name"],
        "is_active": user["is_active"],
        "is_superuser": user["is_superuser"],
        "is_current": True,
        "groups": [{"name": g["name"], "pk": g["pk"]} for g in user["groups_obj"]],
        "roles": [{"name": r["name"], "pk": r["pk"]} for r in user["roles_obj"]],
        "email": user["email"],
        "avatar": user["avatar"],
        "uid": user["uid"],
        "settings": {},
        "type": user["type"],
        "system_permissions": [],
    }


def partial_user_api(user) -> dict:
    """A PartialUser: a user without its relations, of a User or a row of its table
    with `install_id`."""
    return {
        "pk": user.id,
        "username": user.username,
        "name": user.name,
        "is_active": user.is_active,
        "last_login": _datetime_or_none(user.last_login),
        "email": user.email,
        "attributes": user.attributes,
        "uid": user_uid(user.install_id, user.id),
    }


def group_api(group, members: list[dict], roles: list[dict]) -> dict:
    """The Group representation, in authentik's field order, of a Group or a row of its
    table, given its members as PartialUser dicts and its roles as Role dicts. This
    server keeps no hierarchy of groups: those lists are empty (docs/behaviour.md §10)."""
    return {
        "pk": str(group.group_uuid),
        "num_pk": group_num_pk(group.group_uuid),
        "name": group.name,
        "is_superuser": group.is_superuser,
        "parents": [],
        "parents_obj": [],
        "users": [member["pk"] for member in members],
        "users_obj": members,
        "attributes": group.attributes,
        "roles": [role["pk"] for role in roles],
        "roles_obj": roles,
        "inherited_roles_obj": [],
        "children": [],
        "children_obj": [],
    }
