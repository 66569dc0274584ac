"""Declarative base and column types shared by every model."""

from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, MetaData, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

# Predictable constraint names, so Alembic can find them again and the store can tell
# which constraint a racing write violated.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def parse_datetime(text: str) -> datetime | None:
    """An RFC 3339 date and time as a UTC datetime (naive ones taken as UTC); None when
    Python cannot hold it (a leap second, year 0, past year 9999 in UTC)."""
    try:
        value = datetime.fromisoformat(text.upper())
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def now() -> datetime:
    return datetime.now(UTC)


def api_datetime(value: datetime) -> str:
    """UTC with a `Z`, as authentik's orjson renderer writes datetimes."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class uuid_text(FunctionElement):  # noqa: N801  (an SQL function, named as one)
    """A UUID column as its canonical text, 8-4-4-4-12 lower-case hex digits, so that
    searches match a UUID as clients write it on either database."""

    type = String()
    inherit_cache = True


@compiles(uuid_text, "postgresql")
def _uuid_text_postgresql(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


@compiles(uuid_text)
def _uuid_text_sqlite(element, compiler, **kw):
    # SQLAlchemy stores UUIDs on SQLite as 32 lower-case hex digits, without hyphens.
    hex_digits = compiler.process(element.clauses, **kw)
    parts = [f"substr({hex_digits}, {start}, {length})" for start, length in
             ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))]  # fmt: skip
    return " || '-' || ".join(parts)


class json_value_is(FunctionElement):  # noqa: N801  (an SQL function, named as one)
    """Whether a JSON object column holds, at a top-level key, this JSON value (given as
    JSON text): equal as JSON, not as text, on either database."""

    type = Boolean()
    inherit_cache = True


@compiles(json_value_is, "postgresql")
def _json_value_is_postgresql(element, compiler, **kw):
    column, key, value = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST({column} AS JSONB) -> {key}) = CAST({value} AS JSONB)"


@compiles(json_value_is)
def _json_value_is_sqlite(element, compiler, **kw):
    # `->` takes a JSON path there; json() writes both sides in the same minified form.
    column, key, value = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} -> ('$.\"' || replace({key}, '\"', '\\\"') || '\"')) = json({value})"


class comma_joined(FunctionElement):  # noqa: N801  (an SQL function, named as one)
    """An aggregate: the text values of a group joined by commas. SQLAlchemy's
    aggregate_strings would do, but it passes the separator as a value written into the
    SQL at each run, which the driver path (models/driver.py) does not do."""

    type = String()
    inherit_cache = True


@compiles(comma_joined, "postgresql")
def _comma_joined_postgresql(element, compiler, **kw):
    return f"string_agg({compiler.process(element.clauses, **kw)}, ',')"


@compiles(comma_joined)
def _comma_joined_sqlite(element, compiler, **kw):
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"
