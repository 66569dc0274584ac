"""Apply (or check) the Alembic migrations for a database URL."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from models.store import normalise_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def check(url: str) -> None:
    """Fail if the models and the migrations disagree."""
    command.check(alembic_config(url))
