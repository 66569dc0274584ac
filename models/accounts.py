"""Users, groups, API tokens and permission grants: what the admin command changes,
and the database's backup copy.

Mixed into the Store, so that sessions stay inside the store; every method returns plain
values and dicts."""

import secrets
import string
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, func, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.errors import Invalid, NotFound
from models.events import Audit
from models.identity import (
    Group,
    Role,
    RolePermission,
    Token,
    User,
    group_roles,
    managed_role_name,
    roles_of,
    user_groups,
    user_roles,
)
from models.plex import UserPlexSourceConnection
from models.resources import (
    GROUPS,
    PERMISSIONS_BY_CODENAME,
    RESOURCES,
    RESOURCES_BY_MODEL,
    ROLES,
    TOKENS,
    USERS,
    Resource,
    column_key,
    exists,
    stored_pk,
)

CODENAMES = {codename: resource for resource in RESOURCES for codename in resource.codenames}


# Who is in a group, and who holds a role: the link tables, by the resource's model.
_MEMBERS = {GROUPS.permission_model: user_groups, ROLES.permission_model: user_roles}


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


def _user_dict(user: dict) -> dict:
    """What the admin command shows of a user, from its API representation."""
    return {
        "username": user["username"],
        "name": user["name"],
        "email": user["email"],
        "active": user["is_active"],
        "superuser": user["is_superuser"],
        "groups": sorted(group["name"] for group in user["groups_obj"]),
    }


def _in_words(refused: Invalid) -> str:
    """The store's refusal, field by field, for the operator."""
    return "; ".join(
        f"{field}: {' '.join(messages)}" for field, messages in refused.problems.items()
    )


def _group_dict(group: dict) -> dict:
    """What the admin command shows of a group, from its API representation."""
    return {
        "name": group["name"],
        "superuser": group["is_superuser"],
        "members": sorted(user["username"] for user in group["users_obj"]),
    }


class AccountsMixin:
    # Users and tokens are made, changed and deleted by the store's operations that the
    # API runs too (create, update, delete): one set of rules and side effects.

    def create_user(self, username: str, *, name: str = "", email: str = "") -> dict:
        """The new user, as list_users shows it."""
        try:
            created = self.create(USERS, {"username": username, "name": name, "email": email})
        except Invalid as refused:
            if "username" in refused.problems:
                raise AccountError(f"user {username!r} exists already") from None
            raise AccountError(_in_words(refused)) from None
        return _user_dict(created)

    def set_user_active(self, username: str, active: bool) -> None:
        self.update(USERS, str(self._user_pk(username)), {"is_active": active})

    def delete_user(self, username: str) -> dict:
        """Delete the user; its tokens, grants, group memberships, Plex connections and
        pending logins go with it (the foreign keys cascade). What went, counted."""
        pk = self._user_pk(username)
        gone = {"username": username}
        with self._read() as session:
            for name, model in (("tokens", Token), ("connections", UserPlexSourceConnection)):
                query = select(func.count()).select_from(model).where(model.user_id == pk)
                gone[name] = session.scalar(query)
            own = Role.managed == managed_role_name("user", pk)
            held = select(func.count()).select_from(RolePermission).join(Role).where(own)
            gone["grants"] = session.scalar(held)
        self.delete(USERS, str(pk))
        return gone

    def _user_pk(self, username: str) -> int:
        with self._read() as session:
            return _user(session, username).id

    def has_users(self) -> bool:
        """Whether any user exists."""
        with self._read() as session:
            return session.scalar(select(User.id).limit(1)) is not None

    def list_users(self) -> list[dict]:
        with self._reading() as connection:
            rows = connection.execute(USERS.rows.order_by(User.username))
            return [_user_dict(user) for user in USERS.represent_all(connection, rows)]

    def create_group(self, name: str, *, is_superuser: bool = False) -> dict:
        """The new group, as list_groups shows it."""
        try:
            created = self.create(GROUPS, {"name": name, "is_superuser": is_superuser})
        except Invalid as refused:
            if "name" in refused.problems:
                raise AccountError(f"group {name!r} exists already") from None
            raise AccountError(_in_words(refused)) from None
        return _group_dict(created)

    def list_groups(self) -> list[dict]:
        """Every group by name: whether its members are superusers, and who they are."""
        with self._reading() as connection:
            rows = connection.execute(GROUPS.rows.order_by(Group.name))
            return [_group_dict(group) for group in GROUPS.represent_all(connection, rows)]

    def add_to_group(self, username: str, group_name: str) -> bool:
        """Whether the user was added (False: it was a member already)."""
        with self._read() as session:
            user, group = _user(session, username), _group(session, group_name)
            user_pk, group_pk = user.id, group.group_uuid
        return self.add_member(GROUPS, str(group_pk), user_pk)

    def remove_from_group(self, username: str, group_name: str) -> None:
        with self._read() as session:
            user, group = _user(session, username), _group(session, group_name)
            user_pk, group_pk = user.id, group.group_uuid
        if not self.remove_member(GROUPS, str(group_pk), user_pk):
            raise AccountError(f"user {username!r} is not in group {group_name!r}")

    def add_member(
        self, resource: Resource, key: str, user_pk: int, audit: Audit | None = None
    ) -> bool:
        """Put the user in the group, or give it the role, that `key` names (`resource`
        GROUPS or ROLES); whether it was not so already. The user must exist. With
        `audit`, a change of a group records its `model_updated`, as authentik records
        changes of a group's members (not of a role's holders)."""
        link, column = _MEMBERS[resource.permission_model], resource.pk.key
        try:
            with self._writing() as connection:
                pk = stored_pk(connection, resource, key)
                member = (link.c.user_id == user_pk) & (link.c[column] == pk)
                if connection.scalar(select(link.c.user_id).where(member)) is not None:
                    return False
                connection.execute(insert(link).values({"user_id": user_pk, column: pk}))
                self._members_changed(connection, resource, pk, audit)
                return True
        except IntegrityError:  # another request added it between our look and our write
            return False

    def remove_member(
        self, resource: Resource, key: str, user_pk: int, audit: Audit | None = None
    ) -> bool:
        """Take the user out of the group, or the role from it (as add_member); whether
        it was so."""
        link, column = _MEMBERS[resource.permission_model], resource.pk.key
        with self._writing() as connection:
            pk = stored_pk(connection, resource, key)
            member = (link.c.user_id == user_pk) & (link.c[column] == pk)
            removed = connection.execute(delete(link).where(member)).rowcount > 0
            if removed:
                self._members_changed(connection, resource, pk, audit)
            return removed

    def _members_changed(self, connection: Connection, resource: Resource, pk, audit) -> None:
        if audit is None or resource is not GROUPS:
            return
        shown = GROUPS.represent_all(
            connection, GROUPS.represented_by_pk.rows(connection, {"pk": pk})
        )
        if shown:  # else deleted by another request meanwhile: nothing left to describe
            self._record_model_event(connection, "model_updated", GROUPS, pk, shown[0], audit)

    def assign_permissions(
        self, role_key: str, codenames: list[str], model: str | None, object_pk: str | None
    ) -> list[int]:
        """Give the role these permissions, globally (no model) or on one object; the
        ids of the role's hold of each, in order (an existing hold keeps its id)."""
        with self._writing() as connection:
            role = stored_pk(connection, ROLES, role_key)
            wanted, on = _permissions_asked(connection, codenames, model, object_pk)
            return [pk for pk, _made in _hold(connection, role, wanted, on)]

    def unassign_permissions(
        self, role_key: str, codenames: list[str], model: str | None, object_pk: str | None
    ) -> None:
        """Take these permissions from the role; those it does not hold are ignored."""
        with self._writing() as connection:
            role = stored_pk(connection, ROLES, role_key)
            wanted, on = _permissions_asked(connection, codenames, model, object_pk)
            _release(connection, role, wanted, on)

    def global_codenames_of(self, role_key: str) -> set[str]:
        """The permissions the role holds globally (none for an unknown role)."""
        role = column_key(Role.role_uuid, role_key)
        if role is None:
            return set()
        with self._reading() as connection:
            held = select(RolePermission.codename).where(
                RolePermission.role_uuid == role, RolePermission.object_pk.is_(None)
            )
            return set(connection.scalars(held))

    def create_token(
        self, identifier: str, username: str, *, expires: datetime | None = None
    ) -> str:
        """A new API token for the user; the key is returned here and never again. It
        expires only if `expires` is given."""
        key = generate_key()
        token = {
            "identifier": identifier,
            "user": self._user_pk(username),
            "expiring": expires is not None,
            "expires": expires,
            "key": key,
        }
        try:
            self.create(TOKENS, token)
        except Invalid as refused:
            if "identifier" in refused.problems:
                raise AccountError(f"token {identifier!r} exists already") from None
            raise AccountError(_in_words(refused)) from None
        return key

    def list_tokens(self, *, user: str | None = None) -> list[dict]:
        """Every token (or one user's) by identifier: never its key, nor the digest."""
        with self._read() as session:
            query = (
                select(Token.identifier, User.username, Token.expiring, Token.expires)
                .join(User, User.id == Token.user_id)
                .order_by(Token.identifier)
            )
            if user is not None:
                query = query.where(Token.user_id == _user(session, user).id)
            return [
                {
                    "identifier": identifier,
                    "user": username,
                    "expiring": expiring,
                    "expires": expires,
                }
                for identifier, username, expiring, expires in session.execute(query)
            ]

    def revoke_token(self, identifier: str) -> None:
        try:
            self.delete(TOKENS, identifier)
        except NotFound:
            raise AccountError(f"no token {identifier!r}") from None

    def _managed_role(self, session: Session, user, group, *, create: bool) -> Role | None:
        """The role that holds the user's or the group's own permissions (authentik's
        managed role); made, and given to its holder, when `create` and missing."""
        if (user is None) == (group is None):
            raise AccountError("name exactly one of a user or a group")
        if user is not None:
            holder = _user(session, user).id
            name, link = managed_role_name("user", holder), user_roles.c.user_id
        else:
            holder = _group(session, group).group_uuid
            name, link = managed_role_name("group", holder), group_roles.c.group_uuid
        role = session.scalar(select(Role).where(Role.managed == name))
        if role is None and create:
            if session.scalar(select(Role.role_uuid).where(Role.name == name)) is not None:
                raise AccountError(
                    f"a role named {name!r} exists that is not {user or group}'s own; "
                    "rename it first (that name is kept for its own permissions)"
                )
            role = Role(name=name, managed=name)
            session.add(role)
            session.flush()
            session.execute(
                insert(link.table).values({link.key: holder, "role_uuid": role.role_uuid})
            )
        return role

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

    def grant(self, codename: str, *, user=None, group=None, obj: str | None = None) -> bool:
        """Whether the grant was made (False: it was held already). It goes on the
        holder's managed role, as the API's assign does."""
        object_pk = self._object_pk(codename, obj)
        with self._write() as session:
            role = self._managed_role(session, user, group, create=True)
            ((_pk, made),) = _hold(session.connection(), role.role_uuid, [codename], object_pk)
            return made

    def revoke(self, codename: str, *, user=None, group=None, obj: str | None = None) -> None:
        object_pk = self._object_pk(codename, obj)
        with self._write() as session:
            role = self._managed_role(session, user, group, create=False)
            taken = role is not None and _release(
                session.connection(), role.role_uuid, [codename], object_pk
            )
            if not taken:
                raise AccountError("no such grant")

    def list_grants(self, *, user: str | None = None) -> list[dict]:
        """Who holds what: every permission of every role, or those that reach one user
        (its roles' and its groups'). `holder` is `user:<username>` or `group:<name>` for
        a managed role, `role:<name>` for another; `object` names the object as it is
        granted (a source's or flow's slug, a property mapping's name; `*` for every
        object), `object_pk` is its primary key (None for every object)."""
        with self._read() as session:
            query = (
                select(RolePermission, Role)
                .join(Role, Role.role_uuid == RolePermission.role_uuid)
                .order_by(RolePermission.codename, RolePermission.id)
            )
            if user is not None:
                member = _user(session, user)
                query = query.where(RolePermission.role_uuid.in_(roles_of(member.id)))
            rows = session.execute(query).all()
            holders = _holder_labels(session)
            labels = _object_labels(session, [permission for permission, _ in rows])
            return [
                {
                    "permission": permission.codename,
                    "holder": holders.get(role.managed, f"role:{role.name}"),
                    "object": (
                        "*"
                        if permission.object_pk is None
                        else labels.get(
                            (permission.codename, permission.object_pk), permission.object_pk
                        )
                    ),
                    "object_pk": permission.object_pk,
                }
                for permission, role in rows
            ]

    # -- the database as a whole -------------------------------------------------------

    def has_tables(self) -> bool:
        """Whether the database has been migrated (it has the users' table, at least)."""
        return inspect(self.engine).has_table(User.__tablename__)

    def backup(self, path: str) -> None:
        """Write a consistent copy of the SQLite database to a new file, while others
        may be writing: VACUUM INTO reads one snapshot, as any reader does in WAL mode,
        so writers carry on and nothing half-written is copied."""
        if not self.is_sqlite:
            raise AccountError(
                "backup copies SQLite databases; for PostgreSQL use pg_dump "
                "(pg_dump --format=custom --file=FILE DATABASE_URL) and pg_restore"
            )
        target = Path(path)
        if target.exists() or target.is_symlink():
            raise AccountError(f"{path} exists already; back up to a new file")
        if not target.parent.is_dir():
            raise AccountError(f"no directory {str(target.parent)!r} for {path}")
        with self.engine.connect() as connection:
            # Straight to the driver: VACUUM cannot run inside a transaction, and this
            # connection is in autocommit mode until SQLAlchemy begins one (store.py).
            driver = connection.connection.driver_connection
            driver.execute("VACUUM INTO ?", (str(target.absolute()),))


def _label_column(resource: Resource):
    """What an operator names an object by: the URL's key (a slug) where that is not the
    primary key, else the name where the model has one, else the primary key."""
    if resource.lookup.key != resource.pk.key:
        return resource.lookup
    return getattr(resource.model, "name", resource.pk)


def _object_labels(session: Session, grants: list) -> dict[tuple[str, str], str]:
    """(codename, object_pk) -> the object's slug or name, for the objects that exist."""
    wanted: dict[str, set[str]] = {}
    for grant in grants:
        if grant.object_pk is not None and grant.codename in CODENAMES:
            wanted.setdefault(grant.codename, set()).add(grant.object_pk)
    labels = {}
    for codename, pks in wanted.items():
        resource = CODENAMES[codename]
        keys = [key for key in (column_key(resource.pk, pk) for pk in pks) if key is not None]
        query = select(resource.pk, _label_column(resource)).where(resource.pk.in_(keys))
        for pk, label in session.execute(query):
            labels[(codename, str(pk))] = str(label)
    return labels


def _holder_labels(session: Session) -> dict[str, str]:
    """Managed role name -> `user:<username>` / `group:<name>`."""
    labels = {}
    for pk, username in session.execute(select(User.id, User.username)):
        labels[managed_role_name("user", pk)] = f"user:{username}"
    for group_uuid, name in session.execute(select(Group.group_uuid, Group.name)):
        labels[managed_role_name("group", group_uuid)] = f"group:{name}"
    return labels


def _hold(connection: Connection, role, codenames: list[str], on) -> list[tuple[int, bool]]:
    """Give the role each permission, globally (`on` None) or on the object with that
    primary key: (the id of the role's hold of it, whether it is new), in order."""
    held = []
    for codename in codenames:
        query = _permission_query(codename, role, on)
        found = connection.scalar(select(RolePermission.id).where(*query))
        if found is not None:
            held.append((found, False))
            continue
        values = {"role_uuid": role, "codename": codename, "object_pk": on}
        made = connection.execute(insert(RolePermission).values(values))
        held.append((made.inserted_primary_key[0], True))
    return held


def _release(connection: Connection, role, codenames: list[str], on) -> int:
    """Take these permissions from the role; how many holds went."""
    return sum(
        connection.execute(
            delete(RolePermission).where(*_permission_query(codename, role, on))
        ).rowcount
        for codename in codenames
    )


def _permission_query(codename: str, role_uuid, object_pk: str | None) -> tuple:
    """The conditions on a role's hold of one permission, globally or on one object."""
    object_is = (
        RolePermission.object_pk.is_(None)
        if object_pk is None
        else RolePermission.object_pk == object_pk
    )
    return RolePermission.role_uuid == role_uuid, RolePermission.codename == codename, object_is


TOGETHER = "The fields model, object_pk must be used together."
GLOBAL_NEEDS_APP = "When assigning global permissions, codename must be given as app_label.codename"


def _permissions_asked(
    connection: Connection, codenames: list[str] | None, model: str | None, object_pk
) -> tuple[list[str], str | None]:
    """The full codenames an assign or unassign names and the object pk they are on
    (None: global); Invalid, in authentik's words where it has them, otherwise."""
    if codenames is None:
        raise Invalid({"permissions": ["This field is required."]})
    if (model is None) != (object_pk is None):
        raise Invalid({"non_field_errors": [TOGETHER]})
    if model is None and any("." not in codename for codename in codenames):
        raise Invalid({"permissions": [GLOBAL_NEEDS_APP]})
    wanted = []
    for codename in codenames:
        full = codename if "." in codename else f"{model.split('.')[0]}.{codename}"
        permission = PERMISSIONS_BY_CODENAME.get(full)
        if permission is None:
            raise Invalid({"permissions": [f"Unknown permission {codename}."]})
        if model is not None and permission.resource.permission_model != model:
            raise Invalid(
                {"permissions": [f"Permission {codename} is not a permission of {model}."]}
            )
        wanted.append(full)
    if model is None:
        return list(dict.fromkeys(wanted)), None
    resource = RESOURCES_BY_MODEL[model]
    key = column_key(resource.pk, object_pk)
    if key is None or not exists(connection, resource.model, key):
        raise Invalid({"object_pk": [f"No {model} has the primary key {object_pk}."]})
    return list(dict.fromkeys(wanted)), str(key)
