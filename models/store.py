"""The store: every read and write the API makes, on SQLite or PostgreSQL.

Handlers call these methods and get plain dicts back; sessions never leave this module.
"""

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, Uuid, create_engine, event, func, or_, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from app import errors
from models.identity import Group, Token, User
from models.sources import Flow, PlexSource, PropertyMapping

BOOTSTRAP_USERNAME = "akadmin"
BOOTSTRAP_GROUP = "authentik Admins"
BOOTSTRAP_TOKEN_IDENTIFIER = "authentik-bootstrap-token"

# Request fields that name other objects, with the model they point at.
SOURCE_FLOW_FIELDS = {
    "authentication_flow": "authentication_flow_id",
    "enrollment_flow": "enrollment_flow_id",
}
SOURCE_MAPPING_FIELDS = ("user_property_mappings", "group_property_mappings")

# `?ordering=` accepts these serializer fields; anything else is ignored, as DRF does
# for fields it cannot order by.
SOURCE_ORDERING = {
    "pk": PlexSource.pbm_uuid,
    "name": PlexSource.name,
    "slug": PlexSource.slug,
    "enabled": PlexSource.enabled,
    "promoted": PlexSource.promoted,
    "authentication_flow": PlexSource.authentication_flow_id,
    "enrollment_flow": PlexSource.enrollment_flow_id,
    "policy_engine_mode": PlexSource.policy_engine_mode,
    "user_matching_mode": PlexSource.user_matching_mode,
    "managed": PlexSource.managed,
    "user_path_template": PlexSource.user_path_template,
    "icon": PlexSource.icon,
    "group_matching_mode": PlexSource.group_matching_mode,
    "client_id": PlexSource.client_id,
    "allow_friends": PlexSource.allow_friends,
    "plex_token": PlexSource.plex_token,
}
SOURCE_DEFAULT_ORDERING = ("name",)

# Exact-match filters of the list operation, by query parameter.
SOURCE_FILTERS = {
    "allow_friends": PlexSource.allow_friends,
    "authentication_flow": PlexSource.authentication_flow_id,
    "client_id": PlexSource.client_id,
    "enabled": PlexSource.enabled,
    "enrollment_flow": PlexSource.enrollment_flow_id,
    "group_matching_mode": PlexSource.group_matching_mode,
    "name": PlexSource.name,
    "pbm_uuid": PlexSource.pbm_uuid,
    "policy_engine_mode": PlexSource.policy_engine_mode,
    "slug": PlexSource.slug,
    "user_matching_mode": PlexSource.user_matching_mode,
}


@dataclass(frozen=True)
class Identity:
    """The caller an API token belongs to."""

    user_id: int
    username: str
    is_superuser: bool


def normalise_url(url: str) -> str:
    """Accept the usual PostgreSQL URL spellings and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Store:
    def __init__(self, url: str):
        self.url = normalise_url(url)
        self.engine = _make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(
            self.engine.execution_options(write=True), expire_on_commit=False
        )
        # SQLite has one writer at a time; queueing writers here instead of in SQLite's
        # busy handler keeps them fair and fast, and nobody sees "database is locked".
        self._write_lock = threading.Lock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        if self._write_lock is None:
            with self._write_sessions() as session, session.begin():
                yield session
            return
        with self._write_lock, self._write_sessions() as session, session.begin():
            yield session

    # -- identity ------------------------------------------------------------------

    def identity_for_token(self, key: str) -> Identity | None:
        """The active user an unexpired API token belongs to, or None."""
        with self._read() as session:
            token = session.scalar(
                select(Token)
                .where(Token.key_digest == Token.digest(key), Token.intent == "api")
                .options(selectinload(Token.user).selectinload(User.groups))
            )
            if token is None or not token.user.is_active:
                return None
            if token.expiring and token.expires is not None and token.expires <= _now():
                return None
            return Identity(token.user.id, token.user.username, token.user.is_superuser)

    def ensure_bootstrap_token(self, key: str) -> None:
        """authentik's AUTHENTIK_BOOTSTRAP_TOKEN: the superuser akadmin exists and `key`
        is a non-expiring API token for it. Safe to run on every start, by every worker."""
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
            if group not in user.groups:
                user.groups.append(group)
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

    # -- Plex sources --------------------------------------------------------------

    def list_sources(
        self,
        *,
        filters: dict,
        search: str | None,
        ordering: str | None,
        window: Callable[[int], tuple[int, int]],
    ) -> tuple[int, list[dict]]:
        """Count the matching sources, ask `window(count)` for (offset, limit), and
        return the count and that slice, both from one snapshot."""
        with self._read() as session:
            query = select(PlexSource)
            invalid = {}
            for name, value in filters.items():
                column = SOURCE_FILTERS[name]
                if isinstance(column.type, Uuid):
                    value = uuid.UUID(value)
                if name in SOURCE_FLOW_FIELDS and session.get(Flow, value) is None:
                    invalid[name] = [errors.FILTER_UNKNOWN_OBJECT]
                query = query.where(column == value)
            if invalid:
                raise errors.invalid(invalid)
            query = _search(query, search, (PlexSource.name, PlexSource.slug))
            count = session.scalar(select(func.count()).select_from(query.subquery()))
            offset, limit = window(count)
            query = _order(query, ordering, SOURCE_ORDERING, SOURCE_DEFAULT_ORDERING)
            rows = session.scalars(
                query.offset(offset)
                .limit(limit)
                .options(
                    selectinload(PlexSource.user_property_mappings),
                    selectinload(PlexSource.group_property_mappings),
                )
            )
            return count, [source.to_api() for source in rows]

    def get_source(self, slug: str) -> dict:
        with self._read() as session:
            return _source_or_404(session, slug).to_api()

    def create_source(self, data: dict) -> dict:
        return self._save_source(None, data)

    def update_source(self, slug: str, data: dict) -> dict:
        """PUT and PATCH alike: the given fields change, the others keep their value."""
        return self._save_source(slug, data)

    def _save_source(self, slug: str | None, data: dict) -> dict:
        try:
            with self._write() as session:
                source = PlexSource() if slug is None else _source_or_404(session, slug)
                _check_source_references(session, source, data)
                _apply_source_fields(session, source, data)
                session.add(source)
                session.flush()
                return source.to_api()
        except IntegrityError:
            # A concurrent write got in between our checks and our commit (PostgreSQL);
            # look again, now that it has committed, and report what it took.
            with self._read() as session:
                source = PlexSource() if slug is None else _source_or_404(session, slug)
                _check_source_references(session, source, data)
            raise

    def delete_source(self, slug: str) -> None:
        with self._write() as session:
            session.delete(_source_or_404(session, slug))

    def source_used_by(self, slug: str) -> list[dict]:
        with self._read() as session:
            source = _source_or_404(session, slug)
            mappings = source.user_property_mappings + source.group_property_mappings
            return [
                {
                    "app": "authentik_core",
                    "model_name": "propertymapping",
                    "pk": str(mapping.pm_uuid),
                    "name": f"Property Mapping {mapping.name}",
                    "action": "cascade_many",
                }
                for mapping in mappings
            ]


def _make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_engine(url, pool_size=20, max_overflow=20)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        # Let SQLAlchemy's begin event, not the driver, start transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=10000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # Writers take the write lock up front, so a read never has to upgrade to a
        # write mid-transaction (SQLite's deadlock-shaped "database is locked").
        write = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _now() -> datetime:
    return datetime.now(UTC)


def _source_or_404(session: Session, slug: str) -> PlexSource:
    source = None
    if "\x00" not in slug:  # PostgreSQL cannot even compare a NUL; no slug has one
        source = session.scalar(select(PlexSource).where(PlexSource.slug == slug))
    if source is None:
        raise errors.detail(404, errors.SOURCE_NOT_FOUND)
    return source


def _check_source_references(session: Session, source: PlexSource, data: dict) -> None:
    """The checks that need the database: unique slug and existing references."""
    problems: dict[str, list[str]] = {}
    slug = data.get("slug")
    if slug is not None and slug != source.slug:
        taken = session.scalar(select(PlexSource.pbm_uuid).where(PlexSource.slug == slug))
        if taken is not None:
            problems["slug"] = [errors.SLUG_TAKEN]
    for field in SOURCE_FLOW_FIELDS:
        value = data.get(field)
        if value is not None and session.get(Flow, uuid.UUID(value)) is None:
            problems[field] = [errors.DOES_NOT_EXIST.format(pk=value)]
    for field in SOURCE_MAPPING_FIELDS:
        given = data.get(field) or []
        wanted = [uuid.UUID(pk) for pk in given]
        query = select(PropertyMapping.pm_uuid).where(PropertyMapping.pm_uuid.in_(wanted))
        found = set(session.scalars(query)) if wanted else set()
        missing = next((pk for pk in given if uuid.UUID(pk) not in found), None)
        if missing is not None:
            problems[field] = [errors.DOES_NOT_EXIST.format(pk=missing)]
    if problems:
        raise errors.invalid(problems)


def _apply_source_fields(session: Session, source: PlexSource, data: dict) -> None:
    for field, value in data.items():
        if field in SOURCE_FLOW_FIELDS:
            setattr(source, SOURCE_FLOW_FIELDS[field], None if value is None else uuid.UUID(value))
        elif field in SOURCE_MAPPING_FIELDS:
            pks = list(dict.fromkeys(uuid.UUID(pk) for pk in value))
            setattr(source, field, [session.get(PropertyMapping, pk) for pk in pks])
        else:
            setattr(source, field, value)


def _search(query: Select, search: str | None, columns: tuple) -> Select:
    """DRF's SearchFilter: terms split on spaces and commas are ANDed, each matching any
    column case-insensitively."""
    terms = (search or "").replace("\x00", "").replace(",", " ").split()
    for term in terms:
        query = query.where(or_(*(column.icontains(term, autoescape=True) for column in columns)))
    return query


def _order(query: Select, ordering: str | None, fields: dict, default: tuple[str, ...]) -> Select:
    """DRF's OrderingFilter: comma-separated fields, `-` for descending; unknown ones are
    dropped and, if none is left, the default applies. The primary key breaks ties so
    that pages never overlap."""
    terms = [term.strip() for term in (ordering or "").split(",")]
    terms = [term for term in terms if term.removeprefix("-") in fields] or list(default)
    clauses = [
        fields[term[1:]].desc() if term.startswith("-") else fields[term].asc() for term in terms
    ]
    return query.order_by(*clauses, fields["pk"].asc())
