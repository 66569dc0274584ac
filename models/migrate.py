"""Apply (or check) the Alembic migrations for a database URL."""

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from models.store import make_engine, normalise_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any number unique to this application: PostgreSQL's advisory lock for migrations.
ADVISORY_LOCK = 7_311_846_024


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


@functools.cache
def head() -> str:
    """The newest revision (read from the migration scripts once)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def upgrade(url: str) -> bool:
    """Migrate the database to the newest revision; whether anything was applied.
    Processes that start together migrate once: the first holds the database's write
    lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock) for the whole upgrade,
    in one transaction, and the others then find it done."""
    engine = make_engine(normalise_url(url))
    try:
        with engine.execution_options(write=True).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})")
            before = MigrationContext.configure(connection).get_current_revision()
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            return before != head()
    finally:
        engine.dispose()


def is_current(url: str) -> bool:
    """Whether the database is at the newest revision."""
    engine = make_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision() == head()
    finally:
        engine.dispose()


def check(url: str) -> None:
    """Fail if the models and the migrations disagree."""
    command.check(alembic_config(url))
