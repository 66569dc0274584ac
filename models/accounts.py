"""Users, groups, API tokens and permission grants: what the admin command changes.

Mixed into the Store, so that sessions stay inside the store."""

import secrets
import string
import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models.identity import Group, PermissionGrant, Token, User
from models.resources import RESOURCES

ACTIONS = ("view", "add", "change", "delete")
CODENAMES = {resource.codename(action): resource for resource in RESOURCES for action in ACTIONS}


class AccountError(Exception):
    """A request the admin command cannot carry out, in words for the operator."""


def generate_key() -> str:
    """A new API token key: 60 random letters and digits, as authentik's default."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(60))


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"no user {username!r}")
    return user


def _group(session: Session, name: str) -> Group:
    group = session.scalar(select(Group).where(Group.name == name))
    if group is None:
        raise AccountError(f"no group {name!r}")
    return group


class AccountsMixin:
    def create_user(self, username: str, *, name: str = "", email: str = "") -> None:
        with self._write() as session:
            if session.scalar(select(User.id).where(User.username == username)) is not None:
                raise AccountError(f"user {username!r} exists already")
            session.add(User(username=username, name=name, email=email))

    def set_user_active(self, username: str, active: bool) -> None:
        with self._write() as session:
            _user(session, username).is_active = active

    def list_users(self) -> list[dict]:
        with self._read() as session:
            users = session.scalars(select(User).order_by(User.username))
            return [
                {
                    "username": user.username,
                    "active": user.is_active,
                    "superuser": user.is_superuser,
                    "groups": sorted(group.name for group in user.groups),
                }
                for user in users
            ]

    def create_group(self, name: str, *, is_superuser: bool = False) -> None:
        with self._write() as session:
            if session.scalar(select(Group.group_uuid).where(Group.name == name)) is not None:
                raise AccountError(f"group {name!r} exists already")
            session.add(Group(name=name, is_superuser=is_superuser))

    def add_to_group(self, username: str, group_name: str) -> None:
        with self._write() as session:
            user, group = _user(session, username), _group(session, group_name)
            if group not in user.groups:
                user.groups.append(group)

    def create_token(
        self, identifier: str, username: str, *, expires: datetime | None = None
    ) -> str:
        """A new API token for the user; the key is returned here and never again."""
        key = generate_key()
        with self._write() as session:
            if session.scalar(select(Token.token_uuid).where(Token.identifier == identifier)):
                raise AccountError(f"token {identifier!r} exists already")
            session.add(
                Token(
                    identifier=identifier,
                    key_digest=Token.digest(key),
                    intent="api",
                    user=_user(session, username),
                    expiring=expires is not None,
                    expires=expires,
                )
            )
        return key

    def revoke_token(self, identifier: str) -> None:
        with self._write() as session:
            token = session.scalar(select(Token).where(Token.identifier == identifier))
            if token is None:
                raise AccountError(f"no token {identifier!r}")
            session.delete(token)

    def _holder(self, session: Session, user: str | None, group: str | None) -> dict:
        if (user is None) == (group is None):
            raise AccountError("name exactly one of a user or a group")
        if user is not None:
            return {"user_id": _user(session, user).id, "group_uuid": None}
        return {"user_id": None, "group_uuid": _group(session, group).group_uuid}

    def _object_pk(self, codename: str, obj: str | None) -> str | None:
        """The primary key of the object named by its URL key (a slug) or its pk."""
        if codename not in CODENAMES:
            raise AccountError(f"unknown permission {codename!r}; known: {', '.join(CODENAMES)}")
        if obj is None:
            return None
        resource = CODENAMES[codename]
        pk = self.object_pk(resource, obj)
        if pk is None:
            with self._read() as session:
                try:
                    found = session.get(resource.model, uuid.UUID(obj))
                except ValueError:
                    found = None
                pk = None if found is None else str(getattr(found, resource.pk.key))
        if pk is None:
            raise AccountError(f"no object {obj!r} for {codename}")
        return pk

    def grant(self, codename: str, *, user=None, group=None, obj: str | None = None) -> None:
        object_pk = self._object_pk(codename, obj)
        with self._write() as session:
            holder = self._holder(session, user, group)
            if not session.scalar(_grant_query(codename, holder, object_pk)):
                session.add(PermissionGrant(codename=codename, object_pk=object_pk, **holder))

    def revoke(self, codename: str, *, user=None, group=None, obj: str | None = None) -> None:
        object_pk = self._object_pk(codename, obj)
        with self._write() as session:
            holder = self._holder(session, user, group)
            grants = session.scalars(_grant_query(codename, holder, object_pk)).all()
            if not grants:
                raise AccountError("no such grant")
            for found in grants:
                session.delete(found)

    def list_grants(self, *, user: str | None = None) -> list[dict]:
        """Who holds what: every grant, or those that reach one user (its own and its
        groups')."""
        with self._read() as session:
            query = (
                select(PermissionGrant, User.username, Group.name)
                .outerjoin(User, PermissionGrant.user_id == User.id)
                .outerjoin(Group, PermissionGrant.group_uuid == Group.group_uuid)
                .order_by(PermissionGrant.codename, PermissionGrant.id)
            )
            if user is not None:
                member = _user(session, user)
                groups = [group.group_uuid for group in member.groups]
                query = query.where(
                    or_(
                        PermissionGrant.user_id == member.id,
                        PermissionGrant.group_uuid.in_(groups),
                    )
                )
            return [
                {
                    "permission": grant.codename,
                    "holder": f"user:{username}" if username else f"group:{group_name}",
                    "object": grant.object_pk or "*",
                }
                for grant, username, group_name in session.execute(query)
            ]


def _grant_query(codename: str, holder: dict, object_pk: str | None):
    query = select(PermissionGrant).where(PermissionGrant.codename == codename)
    for column, value in (
        (PermissionGrant.user_id, holder["user_id"]),
        (PermissionGrant.group_uuid, holder["group_uuid"]),
        (PermissionGrant.object_pk, object_pk),
    ):
        query = query.where(column.is_(None) if value is None else column == value)
    return query
