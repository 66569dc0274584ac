"""Alembic environment: migrates the database the store is configured for."""

from alembic import context
from sqlalchemy import create_engine

import models.events  # noqa: F401  (register the tables)
import models.identity  # noqa: F401
import models.plex  # noqa: F401
import models.sources  # noqa: F401
from models.base import Base

config = context.config


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
