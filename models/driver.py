"""Statements on the hot paths (the token check, a lookup, a list page; a write's checks,
its event and a delete) run on the database driver's cursor instead of through
SQLAlchemy's execution (docs/performance.md, "The driver on the hot paths").

A statement stays a SQLAlchemy Core statement, written once beside the others. It is
compiled once per dialect; each run then hands the SQL string and the parameters straight
to the cursor of the connection SQLAlchemy already holds (so it is in the same
transaction), and converts values with the very type processors SQLAlchemy would apply
(a UUID from SQLite's 32 hex digits, a datetime from its text). What it skips is
SQLAlchemy's per-run work: the cache key, the execution context, the result object,
tens of µs per statement where the driver needs a few.
"""

from dataclasses import dataclass

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    # Each parameter in the order the SQL names it (positional paramstyles), or once
    # each (named ones): its name, its value when the statement fixes it, its converter.
    binds: tuple[tuple[str, object, object], ...]
    # (column index, converter) for each column whose values need one; empty when none do.
    results: tuple[tuple[int, object], ...]


_UNSET = object()


class DriverQuery:
    """A statement whose runs go to the driver: a SELECT (`rows`), or an INSERT, UPDATE
    or DELETE of fixed columns (`execute`). Parameters are given by their bindparam
    names; expanding ones (`IN` lists) are refused when the statement is compiled."""

    def __init__(self, statement: Executable):
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, connection: Connection, parameters: dict | None = None) -> list[tuple]:
        """Every row, as tuples of converted values."""
        compiled, found = self._run(connection, parameters, fetch=True)
        if not compiled.results:
            return found
        converted = []
        for row in found:
            values = list(row)
            for index, convert in compiled.results:
                values[index] = convert(values[index])
            converted.append(tuple(values))
        return converted

    def execute(self, connection: Connection, parameters: dict | None = None) -> int:
        """A statement that returns no rows, in the transaction `connection` has begun;
        how many rows it changed."""
        if not connection.in_transaction():
            # The driver's cursor would not begin one (SQLAlchemy's execution would): on
            # SQLite the write would be committed at once, alone.
            raise ValueError("a DriverQuery writes only in a transaction already begun")
        return self._run(connection, parameters, fetch=False)[1]

    def _run(self, connection: Connection, parameters: dict | None, *, fetch: bool):
        compiled = self._compiled.get(connection.dialect.name)
        if compiled is None:
            compiled = self._compiled[connection.dialect.name] = _compile(
                self.statement, connection.dialect
            )
        parameters = parameters or {}
        values = []
        for name, fixed, convert in compiled.binds:
            value = parameters.get(name, fixed)
            if value is _UNSET:
                raise KeyError(f"the parameter {name!r} is not given")
            values.append(value if convert is None else convert(value))
        arguments = (
            values
            if compiled.positional
            else {name: value for (name, _, _), value in zip(compiled.binds, values, strict=True)}
        )
        return compiled, _on_driver(connection, compiled.sql, arguments, fetch)

    def one_or_none(self, connection: Connection, parameters: dict | None = None):
        found = self.rows(connection, parameters)
        if len(found) > 1:
            raise ValueError("more than one row where at most one was expected")
        return found[0] if found else None

    def scalar(self, connection: Connection, parameters: dict | None = None):
        """The first column of the first row (None when there is no row)."""
        found = self.rows(connection, parameters)
        return found[0][0] if found else None


class CoreQuery:
    """DriverQuery's interface through SQLAlchemy's own execution, for statements built
    per request (a list's filters and search terms), whose compiled form SQLAlchemy
    caches by their shape, and for those DriverQuery refuses."""

    def __init__(self, statement):
        self.statement = statement

    def rows(self, connection: Connection, parameters: dict | None = None) -> list:
        return connection.execute(self.statement, parameters or {}).all()

    def scalar(self, connection: Connection, parameters: dict | None = None):
        return connection.scalar(self.statement, parameters or {})


def execute_on_driver(connection: Connection, sql: str) -> None:
    """A statement without parameters or rows (a BEGIN) on the connection's driver."""
    _on_driver(connection, sql, (), fetch=False)


def _on_driver(connection: Connection, sql: str, arguments, fetch: bool):
    """The rows (`fetch`) or the row count of `sql` run on the connection's driver."""
    # The pool's DBAPI connection: the driver's own, or SQLAlchemy's adapter of an
    # asyncio driver, which awaits it from inside a greenlet (reads_awaited).
    dbapi_connection = connection.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, arguments)
        return cursor.fetchall() if fetch else cursor.rowcount
    except connection.dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy's own execution would raise it, so that callers catch one kind,
        # and with the connection invalidated when the database dropped it.
        dropped = connection.dialect.is_disconnect(error, dbapi_connection, cursor)
        if dropped:
            connection.invalidate(error)
        raise DBAPIError.instance(
            sql,
            arguments,
            error,
            connection.dialect.loaded_dbapi.Error,
            hide_parameters=connection.engine.hide_parameters,
            connection_invalidated=dropped,
        ) from error
    finally:
        cursor.close()


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    binds = compiled.binds
    if any(bind.expanding or bind.literal_execute for bind in binds.values()):
        # SQLAlchemy writes these into the SQL at each run; the driver cannot.
        raise ValueError("a DriverQuery cannot take an IN list or a value written into its SQL")
    if compiled.escaped_bind_names:  # the SQL would name them otherwise than `binds`
        raise ValueError("a DriverQuery takes parameter names that need no escaping")
    order = compiled.positiontup if compiled.positional else compiled.bind_names.values()

    def bind(name: str) -> tuple[str, object, object]:
        parameter = binds[name]
        fixed = _UNSET if parameter.required or parameter.value is None else parameter.value
        if parameter.callable is not None:
            raise ValueError("a DriverQuery cannot take a parameter computed at run time")
        convert = parameter.type.dialect_impl(dialect).bind_processor(dialect)
        return name, fixed, convert

    converters = (
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        for column in getattr(statement, "selected_columns", ())  # none for a write
    )
    return _Compiled(
        sql=compiled.string,
        positional=compiled.positional,
        binds=tuple(bind(name) for name in order),
        results=tuple((i, c) for i, c in enumerate(converters) if c is not None),
    )
