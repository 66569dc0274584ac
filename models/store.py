"""The store: every read and write the API makes, on SQLite or PostgreSQL.

Handlers call these methods and get plain dicts back; sessions never leave this module.
"""

import asyncio
import hmac
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import (
    Integer,
    LargeBinary,
    String,
    Uuid,
    bindparam,
    case,
    cast,
    create_engine,
    delete,
    event,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import Pool

from models.accounts import AccountsMixin
from models.driver import CoreQuery, DriverQuery, execute_on_driver
from models.errors import UNKNOWN_CHOICE, UNKNOWN_CHOICES, Invalid, NotFound
from models.events import (
    DEFAULT_RETENTION,
    EVENT_INSERTED,
    Audit,
    event_row,
    model_dict,
)
from models.identity import (
    IN_A_SUPERUSER_GROUP,
    Group,
    Role,
    RolePermission,
    Token,
    User,
    managed_role_name,
    roles_of,
)
from models.logins import LoginsMixin
from models.resources import (
    UPDATED_PK,
    Resource,
    column_key,
    initial_grants,
    stored_pk,
    stored_row,
)

BOOTSTRAP_USERNAME = "akadmin"
BOOTSTRAP_GROUP = "authentik Admins"
BOOTSTRAP_TOKEN_IDENTIFIER = "authentik-bootstrap-token"

# Every request authenticates: these are built once and run on the driver
# (models/driver.py), and read columns, not ORM objects.
_TOKEN_HOLDER = DriverQuery(
    select(
        Token.key_digest,
        Token.expiring,
        Token.expires,
        User.id,
        User.username,
        User.email,
        User.is_active,
        IN_A_SUPERUSER_GROUP.label("is_superuser"),
    )
    .join(User, User.id == Token.user_id)
    .where(Token.key_digest == bindparam("digest"), Token.intent == "api")
)


_INSERT_EVENT = DriverQuery(EVENT_INSERTED)  # every write records one
_MANAGED_ROLE_DELETED = DriverQuery(delete(Role).where(Role.managed == bindparam("name")))


def _held_by(user_id) -> object:
    """Permissions a user holds: those of its roles and of its groups' roles."""
    return RolePermission.role_uuid.in_(roles_of(user_id))


_GLOBAL_GRANTS_HELD = DriverQuery(
    select(RolePermission.codename).where(
        RolePermission.object_pk.is_(None), _held_by(bindparam("user_id"))
    )
)


def _object_grants_held(on_objects) -> object:
    """(codename, object_pk) of the object permissions a user holds on some objects."""
    return select(RolePermission.codename, RolePermission.object_pk).where(
        on_objects, _held_by(bindparam("user_id"))
    )


# On one object (its own checks), a kept statement on the driver; on a page of them, an
# IN list, which SQLAlchemy writes out at each run.
_GRANTS_HELD_ON_ONE = DriverQuery(_object_grants_held(RolePermission.object_pk == bindparam("pk")))
_GRANTS_HELD_ON_SOME = _object_grants_held(
    RolePermission.object_pk.in_(bindparam("pks", expanding=True))
)
_ANY_OBJECT_GRANT_HELD = DriverQuery(
    select(RolePermission.id)
    .where(
        RolePermission.codename == bindparam("codename"),
        RolePermission.object_pk.is_not(None),
        _held_by(bindparam("user_id")),
    )
    .limit(1)
)


@dataclass(frozen=True)
class Identity:
    """The caller an API token belongs to, with its global permissions (its own and its
    groups') and its object permissions on the objects this request has looked at
    (`Store.with_grants_on`); the others stay in the database, which filters lists by
    them. Superusers hold every permission."""

    user_id: int
    username: str
    is_superuser: bool
    global_permissions: frozenset[str] = frozenset()
    object_permissions: dict[str, frozenset[str]] = field(default_factory=dict)
    email: str = ""

    def covers(self, codename: str) -> bool:
        """Whether the permission holds on every object."""
        return self.is_superuser or codename in self.global_permissions

    def has_perm(self, codename: str, object_pk: str | None = None) -> bool:
        """Globally, or on the object with that primary key."""
        if self.covers(codename):
            return True
        return object_pk is not None and object_pk in self.object_permissions.get(codename, ())


class WriteBusy(Exception):
    """Another writer holds the database right now; nothing was done."""


@dataclass(frozen=True)
class StoredObject:
    """An object as the permission check found it, kept for the handler that follows."""

    pk: str
    owner: int | None  # the owning user's id, for resources with owners
    representation: dict | None  # its API form, where asked for


def normalise_url(url: str) -> str:
    """Accept the usual PostgreSQL URL spellings and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Store(AccountsMixin, LoginsMixin):
    def __init__(self, url: str, *, event_retention: timedelta = DEFAULT_RETENTION):
        self.url = normalise_url(url)
        self.event_retention = event_retention
        self.engine = make_engine(self.url)
        # SQLite reads are local and short: the event loop may make them itself, on a
        # connection of its own so that it never waits for the worker threads' pool
        # (docs/performance.md). PostgreSQL is across a network: never on the loop.
        self.reads_inline = self.writes_inline = self.engine.dialect.name == "sqlite"
        self._loop_reads = (
            KeptConnection(make_engine(self.url, connections=1)) if self.reads_inline else None
        )
        # Writes there too, when the database is free (inline_writes): this connection
        # never waits for another writer, it reports WriteBusy instead.
        self._loop_writes = (
            KeptConnection(
                make_engine(self.url, connections=1, busy_timeout_ms=0).execution_options(
                    write=True
                )
            )
            if self.writes_inline
            else None
        )
        # PostgreSQL reads the event loop makes awaiting the driver (reads_awaited): the
        # same reads, on a connection of SQLAlchemy's asyncio engine, in a greenlet that
        # hands each wait to the loop, instead of a trip to a worker thread
        # (docs/performance.md). They run in autocommit: under READ COMMITTED each
        # statement sees its own snapshot inside a transaction or not, and a transaction
        # would cost a BEGIN and a COMMIT trip per request.
        self.reads_awaited = not self.reads_inline
        self._async_engine = make_async_engine(self.url) if self.reads_awaited else None
        # Its writes too (awaited_writes): a pool of their own, in transactions, and
        # pinged before use, as a write is not made twice.
        self._async_write_engine = (
            make_async_engine(self.url, writes=True) if self.reads_awaited else None
        )
        # The current snapshot() connection.
        self._snapshot_connection: ContextVar[Connection | None] = ContextVar(
            "snapshot_connection", default=None
        )
        # Where the write on the loop goes, if any: SQLite's kept connection
        # (inline_writes) or PostgreSQL's awaited engine (awaited_writes).
        self._loop_write: ContextVar[KeptConnection | Engine | None] = ContextVar(
            "loop_write", default=None
        )
        self._page_cache: dict[tuple, tuple] = {}
        self._write_engine = self.engine.execution_options(write=True)
        self._write_sessions = sessionmaker(self._write_engine, expire_on_commit=False)
        # SQLite has one writer at a time; queueing writers here instead of in SQLite's
        # busy handler keeps them fair and fast, and nobody sees "database is locked".
        self._write_lock = threading.Lock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.engine.dispose()
        for kept in (self._loop_reads, self._loop_writes):
            if kept is not None:
                kept.close()
        if self.reads_awaited:
            # Their connections close by awaiting; psycopg's close needs no particular
            # loop, so a thread and loop of their own do, whether or not this thread
            # runs a loop.
            closer = threading.Thread(target=asyncio.run, args=(self._dispose_awaited(),))
            closer.start()
            closer.join()

    async def _dispose_awaited(self) -> None:
        await self._async_engine.dispose()
        await self._async_write_engine.dispose()

    def unreachable(self) -> str | None:
        """None when the database answers; otherwise what went wrong, in a few words
        (never the URL, which may hold a password)."""
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except Exception as error:  # noqa: BLE001  (any failure means not ready)
            return type(error).__name__
        return None

    def connections_in_use(self) -> int:
        """Database connections checked out of this process's pools right now."""
        pools = [self.engine.pool]
        if self.reads_awaited:
            pools += [e.sync_engine.pool for e in (self._async_engine, self._async_write_engine)]
        return sum(pool.checkedout() for pool in pools)

    @contextmanager
    def _read(self) -> Iterator[Session]:
        shared = self._snapshot_connection.get()
        if shared is not None:  # the snapshot's connection, in its transaction
            with Session(shared, expire_on_commit=False) as session:
                yield session
            return
        with Session(self._reads_engine(), expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def snapshot(self, *, on_loop: bool = False) -> Iterator[None]:
        """The reads inside share one connection and transaction (a request's checks,
        say). `on_loop`: on the event loop's own connections; SQLite's read inline,
        PostgreSQL's awaiting the driver (inside SQLAlchemy's greenlet_spawn)."""
        if on_loop and self.reads_inline:  # one connection, kept
            taken = self._loop_reads.held()
        else:
            taken = (self._async_engine.sync_engine if on_loop else self.engine).connect()
        with taken as connection, connection.begin():
            # Per thread, and per request on the loop (awaited reads of several requests
            # interleave on its one thread).
            token = self._snapshot_connection.set(connection)
            try:
                yield
            finally:
                self._snapshot_connection.reset(token)

    def awaited_reads_pool(self) -> Pool:
        """The pool of the connections reads awaited on the loop use (PostgreSQL)."""
        return self._async_engine.sync_engine.pool

    async def renew_awaited_connections(self, pool: Pool) -> None:
        """Close the awaited reads' connections: the database dropped one of `pool` (a
        restart drops them all), and each is opened anew when next needed. Nothing, if
        another request has renewed them since (its new ones stay)."""
        if self.awaited_reads_pool() is pool:
            await self._async_engine.dispose()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A read transaction on a connection (the snapshot's, if there is one), for
        reads that select columns: no ORM session, no objects (docs/performance.md)."""
        shared = self._snapshot_connection.get()
        if shared is not None:
            yield shared
            return
        with self._reads_engine().connect() as connection, connection.begin():
            yield connection

    def _reads_engine(self) -> Engine:
        """Where reads outside a snapshot go: the awaited reads' engine inside an
        awaited write (its greenlet must not wait on a blocking driver), else the
        worker threads'."""
        if self.reads_awaited and self._loop_write.get() is not None:
            return self._async_engine.sync_engine
        return self.engine

    @contextmanager
    def inline_writes(self) -> Iterator[None]:
        """The write inside (one transaction) goes on the event loop's own connection
        without waiting: WriteBusy, with nothing done, when this process or another is
        writing (SQLite only; docs/performance.md)."""
        if not self._write_lock.acquire(blocking=False):
            raise WriteBusy
        try:
            with self._writing_with(self._loop_writes):
                yield
        finally:
            self._write_lock.release()

    @contextmanager
    def awaited_writes(self) -> Iterator[None]:
        """The write inside goes on the event loop, awaiting the driver (PostgreSQL,
        inside SQLAlchemy's greenlet_spawn; docs/performance.md)."""
        with self._writing_with(self._async_write_engine.sync_engine):
            yield

    @contextmanager
    def _writing_with(self, where: "KeptConnection | Engine") -> Iterator[None]:
        token = self._loop_write.set(where)
        try:
            yield
        finally:
            self._loop_write.reset(token)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction on a connection, for writes that are statements on
        tables (SQLite: behind the process's write lock, BEGIN IMMEDIATE)."""
        on_loop = self._loop_write.get()
        if on_loop is not None:
            # SQLite's kept connection, which only a write inside a write finds taken (the
            # write lock is held already), or PostgreSQL's awaited engine.
            kept = isinstance(on_loop, KeptConnection)
            taken = on_loop.held(wait=False) if kept else on_loop.connect()
            with taken as connection, _begun(connection):
                yield connection
            return
        lock = self._write_lock or nullcontext()
        with lock, self._write_engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def _write(self) -> Iterator[Session]:
        awaited = self._loop_write.get()
        if awaited is not None and self.reads_awaited:
            with Session(awaited, expire_on_commit=False) as session, session.begin():
                yield session
            return
        if awaited is not None:
            # inline_writes holds the lock this would wait for, on this very thread.
            raise RuntimeError("inline writes go through _writing, not an ORM session")
        if self._write_lock is None:
            with self._write_sessions() as session, session.begin():
                yield session
            return
        with self._write_lock, self._write_sessions() as session, session.begin():
            yield session

    # -- identity ------------------------------------------------------------------

    def identity_for_token(self, key: str) -> Identity | None:
        """The active user an unexpired API token belongs to, or None."""
        digest = Token.digest(key)
        with self._reading() as connection:
            found = _TOKEN_HOLDER.one_or_none(connection, {"digest": digest})
            if found is None:
                return None
            stored_digest, expiring, expires, user_id, username, email, active, superuser = found
            # The digest was found by an index; compare it once more in constant time.
            if not hmac.compare_digest(stored_digest, digest) or not active:
                return None
            if expiring and expires is not None and expires <= _now():
                return None
            if superuser:  # holds every permission: no need to read grants
                return Identity(user_id, username, True, email=email)
            held = (
                codename
                for (codename,) in _GLOBAL_GRANTS_HELD.rows(connection, {"user_id": user_id})
            )
            return Identity(user_id, username, False, frozenset(held), email=email)

    def with_grants_on(self, identity: Identity, pks: list[str]) -> Identity:
        """`identity` with the object permissions it holds on these objects (by primary
        key) as well; one query, none for a superuser."""
        if identity.is_superuser or not pks:
            return identity
        with self._reading() as connection:
            if len(pks) == 1:
                rows = _GRANTS_HELD_ON_ONE.rows(
                    connection, {"pk": pks[0], "user_id": identity.user_id}
                )
            else:
                rows = connection.execute(
                    _GRANTS_HELD_ON_SOME, {"pks": list(pks), "user_id": identity.user_id}
                )
            held = {code: set(found) for code, found in identity.object_permissions.items()}
            for code, pk in rows:
                held.setdefault(code, set()).add(pk)
        return replace(
            identity, object_permissions={code: frozenset(f) for code, f in held.items()}
        )

    def holds_object_grant(self, identity: Identity, codename: str) -> bool:
        """Whether the user holds the permission on at least one object."""
        with self._reading() as connection:
            arguments = {"codename": codename, "user_id": identity.user_id}
            return _ANY_OBJECT_GRANT_HELD.scalar(connection, arguments) is not None

    def ensure_bootstrap_token(self, key: str) -> None:
        """authentik's AUTHENTIK_BOOTSTRAP_TOKEN: the superuser akadmin exists, is active
        and `key` is a non-expiring API token for it. Safe to run on every start, by every
        worker."""
        try:
            self._ensure_bootstrap_token(key)
        except IntegrityError:
            # Another worker created the same rows at the same moment; theirs are as good.
            self._ensure_bootstrap_token(key)

    def _ensure_bootstrap_token(self, key: str) -> None:
        with self._write() as session:
            group = session.scalar(select(Group).where(Group.name == BOOTSTRAP_GROUP))
            if group is None:
                group = Group(name=BOOTSTRAP_GROUP, is_superuser=True)
                session.add(group)
            user = session.scalar(select(User).where(User.username == BOOTSTRAP_USERNAME))
            if user is None:
                user = User(username=BOOTSTRAP_USERNAME, name="authentik Default Admin")
                session.add(user)
            user.is_active = True
            if group not in user.groups:
                user.groups.append(group)
            # The key finds it first: its identifier may have been changed through the API.
            token = session.scalar(select(Token).where(Token.key_digest == Token.digest(key)))
            if token is None:
                token = session.scalar(
                    select(Token).where(Token.identifier == BOOTSTRAP_TOKEN_IDENTIFIER)
                )
            if token is None:
                token = Token(identifier=BOOTSTRAP_TOKEN_IDENTIFIER, user=user)
                session.add(token)
            token.key_digest = Token.digest(key)
            token.intent = "api"
            token.expiring = False
            token.expires = None
            token.user = user

    # -- the API's objects ------------------------------------------------------------

    def list_page(
        self,
        resource: Resource,
        *,
        filters: dict,
        search: str | None,
        ordering: str | None,
        window: Callable[[int], tuple[int, int]],
        viewer: Identity | None = None,
    ) -> tuple[int, list[dict]]:
        """Count the objects matching `filters` (the resource's, by name; an empty value
        filters nothing) among those `viewer` may view (all when None), ask
        `window(count)` for (offset, limit), and return the count and that slice, both
        from one snapshot."""
        with self._reading() as connection:
            terms = []
            unknown = {}
            filters = {name: value for name, value in filters.items() if value not in (None, "")}
            for name, value in filters.items():
                related = resource.relation_filters.get(name)
                if related is not None:
                    missing = _first_unknown(connection, related, value)
                    if missing is not None:
                        unknown[name] = [missing]
                if name in resource.filter_clauses:
                    terms += resource.filter_clauses[name](value)
                    continue
                column = resource.filters[name]
                value = column_key(column, value)
                if value is None:  # nothing can match (say, an id past the column's range)
                    terms.append(false())
                    continue
                terms.append(column == value)
            if unknown:
                raise Invalid(unknown)
            terms += resource.combined_filters(filters)
            searched = search_terms(search)
            restricted = viewer is not None and not viewer.covers(resource.codename("view"))
            order = _ordering(ordering, resource)
            if terms:
                terms += _searching(resource.search, len(searched), sqlite=self.is_sqlite)
                counted, page = self._page_statements(resource, restricted, order, terms)
            else:  # the usual list: the same few statements again, built once
                counted, page = self._kept_page_statements(
                    resource, restricted, order, len(searched)
                )
            values = _search_patterns(searched, sqlite=self.is_sqlite)
            if restricted:
                values["viewer"] = viewer.user_id
            count = counted.scalar(connection, values)
            offset, limit = window(count)
            rows = page.rows(connection, {**values, "offset": offset, "limit": limit})
            return count, resource.represent_all(connection, rows)

    def short_scan(self, resource: Resource, search: str | None) -> bool:
        """Whether a list with this search is short enough to make on the event loop: on
        SQLite, when the rows it may scan, times its terms and searched columns, stay
        within SHORT_SCAN (the rows' count from the table's largest rowid, which never
        undercounts). Longer ones belong in a worker thread, where SQLite scans without
        holding up the loop (docs/performance.md)."""
        if not self.reads_inline:
            return False
        # In a snapshot already, its connection: the loop's own is the only one there is.
        outside = self._snapshot_connection.get() is None
        with self.snapshot(on_loop=True) if outside else nullcontext(), self._reading() as read:
            rows = _largest_rowid(resource.model.__table__).scalar(read) or 0
        return rows * len(search_terms(search)) * len(resource.search) <= SHORT_SCAN

    def _kept_page_statements(
        self, resource: Resource, restricted: bool, order: tuple, searched: int
    ):
        """_page_statements without filters, for `searched` search terms, kept and run on
        the driver (docs/performance.md). At most about a thousand, whatever orderings and
        searches clients ask for."""
        key = (resource.permission_model, restricted, order, searched)
        statements = self._page_cache.get(key)
        if statements is None:
            if len(self._page_cache) >= 1024:
                self._page_cache.clear()
            terms = _searching(resource.search, searched, sqlite=self.is_sqlite)
            statements = self._page_cache[key] = self._page_statements(
                resource, restricted, order, terms, DriverQuery
            )
        return statements

    def _page_statements(
        self, resource: Resource, restricted: bool, order: tuple, terms, run=CoreQuery
    ):
        """The count and the page of a list, with `terms`, ordered by `order`; limited to
        what the `viewer` parameter may view if `restricted`, with `offset` and `limit`
        as parameters; each made a query by `run`."""
        terms = [*terms, self._viewable(resource)] if restricted else list(terms)
        fields = resource.ordering
        clauses = [fields[name].desc() if down else fields[name].asc() for name, down in order]
        page = (
            resource.rows.where(*terms)
            .order_by(*clauses, resource.pk.asc())
            .offset(bindparam("offset", type_=Integer))
            .limit(bindparam("limit", type_=Integer))
        )
        return run(resource.counted.where(*terms)), run(page)

    def _viewable(self, resource: Resource):
        """The condition for the objects the `viewer` parameter's user holds the view
        permission on, or owns: the grants are joined in SQL, never loaded."""
        viewer = bindparam("viewer", type_=Integer)
        granted = select(self._grant_key(resource.pk)).where(
            RolePermission.codename == resource.codename("view"),
            RolePermission.object_pk.is_not(None),
            _held_by(viewer),
        )
        condition = resource.pk.in_(granted)
        if resource.owner is not None:
            condition = or_(condition, resource.owner == viewer)
        return condition

    def _grant_key(self, pk):
        """A grant's object_pk (text, a UUID's canonical form or an integer's digits) as
        `pk`'s column stores it, so that the column's index finds the objects."""
        if isinstance(pk.type, Uuid):
            if self.is_sqlite:  # SQLAlchemy stores UUIDs there as 32 hex digits
                return func.replace(RolePermission.object_pk, "-", "")
            return cast(RolePermission.object_pk, Uuid)
        return cast(RolePermission.object_pk, pk.type)

    def object_pk(self, resource: Resource, key: str) -> str | None:
        """The primary key of the object the URL names, if there is one."""
        found = self.find(resource, key)
        return None if found is None else found.pk

    def find(
        self, resource: Resource, key: str, *, represent: bool = False
    ) -> "StoredObject | None":
        """The object the URL names, if any: its primary key, owner and, if `represent`,
        its API form."""
        key = column_key(resource.lookup, key)
        if key is None:
            return None
        query = resource.represented_on_driver if represent else resource.found_on_driver
        with self._reading() as connection:
            row = query.one_or_none(connection, {"key": key})
            if row is not None and represent:
                row = resource.named(row)
                owner = getattr(row, resource.owner.key) if resource.owner is not None else None
                (found,) = resource.represent_all(connection, [row])
                return StoredObject(str(getattr(row, resource.pk.key)), owner, found)
        if row is None:
            return None
        pk, owner = row
        return StoredObject(str(pk), owner if resource.owner is not None else None, None)

    def representation(self, resource: Resource, key: str) -> dict:
        """The API form of the object the key names; NotFound when there is none."""
        found = self.find(resource, key, represent=True)
        if found is None:
            raise NotFound(resource.not_found)
        return found.representation

    def create(self, resource: Resource, data: dict, audit: Audit | None = None) -> dict:
        """The new object. With `audit` (an API caller's write), the caller's roles get
        their initial permissions on it and a `model_created` event is recorded."""
        return self._save(resource, None, data, audit)

    def update(self, resource: Resource, key: str, data: dict, audit: Audit | None = None) -> dict:
        """PUT and PATCH alike: the given fields change, the others keep their value.
        With `audit`, a `model_updated` event is recorded."""
        return self._save(resource, key, data, audit)

    def record(self, connection: Connection, action: str, context: dict, **how) -> None:
        """Record an event (models/events.py) in the transaction of `connection`."""
        row = event_row(action, context, retention=self.event_retention, **how)
        _INSERT_EVENT.execute(connection, row)

    def _record_model_event(
        self, connection: Connection, action: str, resource: Resource, pk, shown: dict, audit
    ) -> None:
        model = model_dict(resource.app_label, resource.model_name, pk, resource.label(shown))
        self.record(connection, action, {"model": model}, audit=audit)

    def _save(self, resource: Resource, key: str | None, data: dict, audit=None) -> dict:
        """Insert (no key) or update the object: statements on the table, no ORM."""
        try:
            with self._writing() as connection:
                stored = None if key is None else stored_row(connection, resource, key)
                _check(connection, resource, stored, data)
                values = resource.columns_of(data)
                if stored is None:
                    written = connection.execute(resource.inserted, values)
                    pk = written.inserted_primary_key[0]
                else:
                    pk = getattr(stored, resource.pk.key)
                    if values:
                        connection.execute(resource.updated, {**values, UPDATED_PK: pk})
                resource.write_related(connection, pk, data)
                if audit is not None and stored is None and audit.user:
                    initial_grants(connection, resource, pk, audit.user["pk"])
                # Read back as lists and lookups read it: one representation.
                (saved,) = resource.represent_all(
                    connection, resource.represented_by_pk.rows(connection, {"pk": pk})
                )
                if audit is not None:
                    action = "model_created" if stored is None else "model_updated"
                    self._record_model_event(connection, action, resource, pk, saved, audit)
                return saved
        except IntegrityError:
            # A concurrent write got in between our checks and our commit (PostgreSQL):
            # look again, now that it has committed, and report what it took.
            with self._reading() as connection:
                stored = None if key is None else stored_row(connection, resource, key)
                _check(connection, resource, stored, data)
            raise

    def delete(self, resource: Resource, key: str, audit: Audit | None = None) -> None:
        """The object and the grants on it. What refers to it goes as the schema's
        foreign keys say (its mapping lists and connections with it; flows and mappings
        leave the sources that named them), in the database, without loading anything.
        With `audit`, a `model_deleted` event is recorded."""
        with self._writing() as connection:
            pk = stored_pk(connection, resource, key)
            if audit is not None:
                shown = resource.represent_all(
                    connection, resource.represented_by_pk.rows(connection, {"pk": pk})
                )
                if not shown:  # deleted by another request since we found it
                    raise NotFound(resource.not_found)
                self._record_model_event(connection, "model_deleted", resource, pk, shown[0], audit)
            resource.grants_deleted.execute(connection, {"object_pk": str(pk)})
            if resource.managed_role is not None:  # its own permissions go with it
                name = managed_role_name(resource.managed_role, pk)
                _MANAGED_ROLE_DELETED.execute(connection, {"name": name})
            resource.deleted.execute(connection, {"pk": pk})

    def used_by(self, resource: Resource, found: StoredObject) -> list[dict]:
        """What refers to the object the permission check found (by its primary key:
        no second lookup of the URL's key)."""
        with self._reading() as connection:
            return resource.used_by(connection, column_key(resource.pk, found.pk))


def make_async_engine(url: str, *, writes: bool = False) -> AsyncEngine:
    """PostgreSQL reads (or `writes`) awaited on the event loop: psycopg's async
    connections. Reads run in autocommit, without a ping before each use (a trip to the
    database, a sixth of a retrieve's CPU): a read that finds its connection dropped is
    made again on a new one (app/concurrency.reading). Writes are not made twice, so
    their connections are pinged, as the worker threads' are (make_engine)."""
    mode = {"pool_pre_ping": True} if writes else {"isolation_level": "AUTOCOMMIT"}
    return create_async_engine(url, pool_size=5, max_overflow=0, hide_parameters=True, **mode)


def make_engine(url: str, connections: int = 2, busy_timeout_ms: int = 10000) -> Engine:
    # Connections per process, sized by measurement (docs/performance.md): request
    # threads hold the GIL while they turn rows into objects, so connections beyond what
    # the cores can serve only add contention. PostgreSQL does its share of the work in
    # its own processes, so a few more help there: up to 10 for the worker threads, 5
    # for the reads and 5 for the writes the event loop awaits (make_async_engine), so
    # that 5 WORKERS processes stay within PostgreSQL's default of 100 connections.
    # hide_parameters: a database error's message never carries the values written (a
    # Plex token, a key's digest), wherever it is logged.
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(
            url, pool_size=5, max_overflow=5, pool_pre_ping=True, hide_parameters=True
        )
    engine = create_engine(url, pool_size=connections, max_overflow=0, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        # Let SQLAlchemy's begin event, not the driver, start transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            f"busy_timeout={busy_timeout_ms}",
            # 16 MiB of pages per connection, not SQLite's 2: a list at 100,000 sources
            # counts over an index of a few MiB, read back from the OS on every count
            # otherwise (docs/performance.md).
            "cache_size=-16000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
        # SQLite's own lower() knows only ASCII; searches should fold "Ü" as PostgreSQL does.
        dbapi_connection.create_function("lower", 1, unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # Writers take the write lock up front, so a read never has to upgrade to a
        # write mid-transaction (SQLite's deadlock-shaped "database is locked").
        write = connection.get_execution_options().get("write", False)
        # On the driver, as DriverQuery runs statements: through SQLAlchemy's execution,
        # this one statement cost more than the rest of a read's transaction
        # (docs/performance.md).
        execute_on_driver(connection, "BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class KeptConnection:
    """A connection of `engine` kept from one use to the next, for SQLite's work on an
    event loop (one for Store.snapshot's reads, one for Store.inline_writes): those uses
    follow one another, so taking the connection from the pool and giving it back each
    time only costs (docs/performance.md). `held` makes several loops of one process
    take turns (a test's clients, the Flask flavour's handlers)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.lock = threading.Lock()
        self._kept: Connection | None = None

    @contextmanager
    def held(self, *, wait: bool = True) -> Iterator[Connection]:
        """The kept connection, for this thread alone until the block ends. `wait`: for
        another thread's use to end; else RuntimeError if it is in use."""
        if not self.lock.acquire(blocking=wait):
            raise RuntimeError("the kept connection is in use (a write inside a write?)")
        try:
            yield self.connection()
        finally:
            self.lock.release()

    def connection(self) -> Connection:
        """The kept connection; a new one in place of one closed, dropped, or left in a
        transaction that SQLAlchemy did not begin (which would refuse every later BEGIN,
        where a pooled connection would have been rolled back on its return)."""
        kept = self._kept
        if kept is not None and not (kept.closed or kept.invalidated):
            if not (kept.in_transaction() or kept.connection.dbapi_connection.in_transaction):
                return kept
            kept.invalidate()
            kept.close()
        self._kept = self.engine.connect()
        return self._kept

    def close(self) -> None:
        with self.lock:
            if self._kept is not None:
                self._kept.close()
                self._kept = None
        self.engine.dispose()


@contextmanager
def _begun(connection: Connection) -> Iterator[Connection]:
    """A write transaction on `connection`; WriteBusy, with nothing done, when SQLite's
    BEGIN IMMEDIATE finds another process writing."""
    try:
        transaction = connection.begin()
    except OperationalError as error:
        raise WriteBusy from error
    with transaction:
        yield connection


def unicode_lower(value):
    """SQLite's lower() for every letter, not only ASCII's (registered on each connection)."""
    return value.lower() if isinstance(value, str) else value


def _now() -> datetime:
    return datetime.now(UTC)


def _first_unknown(connection: Connection, column, value) -> str | None:
    """django-filter's message for the first value (of a list, or the one value) that
    names no object by `column`; None when each names one. One query for all."""
    values = value if isinstance(value, list) else [value]
    keys = [column_key(column, one) for one in values]
    wanted = [key for key in keys if key is not None]
    found = set(connection.scalars(select(column).where(column.in_(wanted)))) if wanted else set()
    for one, key in zip(values, keys, strict=True):
        if key is None or key not in found:
            return UNKNOWN_CHOICES.format(value=one) if isinstance(value, list) else UNKNOWN_CHOICE
    return None


def _check(connection: Connection, resource: Resource, stored, data: dict) -> None:
    """What only the database can tell: unique fields and references, in one 400 (each
    resource lists its unique fields before its references, which is its field order).
    `stored`: the object's row, None when it is being created."""
    problems = {}
    for name, message in resource.unique.items():
        value = data.get(name)
        if value is None or (stored is not None and value == getattr(stored, name)):
            continue
        if resource.unique_lookups[name].scalar(connection, {"value": value}) is not None:
            problems[name] = [message]
    problems.update(resource.check_references(connection, stored, data))
    if problems:
        raise Invalid(problems)


# A list's scan that costs about 3 ms of SQLite's time or less (0.3 µs per row, term and
# column on a 2-core VM, docs/performance.md) is made on the event loop.
SHORT_SCAN = 10_000


@cache
def _largest_rowid(table) -> DriverQuery:
    """SQLite's largest rowid in `table`: at least its number of rows, found in one seek."""
    return DriverQuery(select(func.max(literal_column("rowid"))).select_from(table))


_SEARCH_TOKEN = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S+""")


def search_terms(search: str | None) -> list[str]:
    """DRF's search_smart_split: whitespace separates terms, a quoted phrase is one term,
    and unquoted tokens also split on commas. NUL characters are dropped."""
    terms = []
    for token in _SEARCH_TOKEN.findall((search or "").replace("\x00", "")):
        token = token.strip(",")
        if len(token) > 1 and token[0] in "\"'" and token[0] == token[-1]:
            terms.append(re.sub(r"\\(.)", r"\1", token[1:-1]))
        else:
            terms += [part.strip() for part in token.split(",") if part.strip()]
    return [term for term in terms if term]


def _searching(columns: tuple, searched: int, *, sqlite: bool) -> list:
    """DRF's SearchFilter for `searched` terms: each must occur in some column, ignoring
    case as Django's icontains does (beyond ASCII too). The patterns are the parameters
    search0, search1... (_search_patterns), so that one statement serves every search
    with as many terms."""
    return [
        or_(
            *(
                _contains(column, bindparam(f"search{n}", type_=String), sqlite)
                for column in columns
            )
        )
        for n in range(searched)
    ]


def _contains(column, pattern, sqlite: bool):
    if not sqlite:
        return column.ilike(pattern, escape=_LIKE_ESCAPE)
    # On SQLite, lower() is the Python function registered above, called row by row,
    # which is slow at scale (docs/performance.md). LIKE folds ASCII letters itself, so
    # a value that is all ASCII (as many characters as bytes) is matched by LIKE against
    # the lowered pattern; only the others go through lower().
    all_ascii = func.length(column) == func.length(cast(column, LargeBinary))
    return case(
        (all_ascii, column.like(pattern, escape=_LIKE_ESCAPE)),
        else_=func.lower(column).like(pattern, escape=_LIKE_ESCAPE),
    )


_LIKE_ESCAPE = "/"


def _search_patterns(terms: list[str], *, sqlite: bool) -> dict[str, str]:
    """The LIKE pattern of each term (_searching): the term anywhere, its wildcards
    escaped; lowered here on SQLite, where the database's lower() is Python's anyway."""
    patterns = {}
    for n, term in enumerate(terms):
        if sqlite:
            term = term.lower()
        for special in (_LIKE_ESCAPE, "%", "_"):  # the escape character first
            term = term.replace(special, _LIKE_ESCAPE + special)
        patterns[f"search{n}"] = f"%{term}%"
    return patterns


def _ordering(ordering: str | None, resource: Resource) -> tuple[tuple[str, bool], ...]:
    """DRF's OrderingFilter: comma-separated fields, `-` for descending; unknown ones are
    dropped and, if none is left, the default applies. (field, descending) pairs; the
    primary key breaks ties (_page_statements), so that pages never overlap."""
    terms = [term.strip() for term in (ordering or "").split(",")]
    terms = [term for term in terms if term.removeprefix("-") in resource.ordering]
    return tuple(
        (term.removeprefix("-"), term.startswith("-"))
        for term in terms or resource.default_ordering
    )
