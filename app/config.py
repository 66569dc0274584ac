"""Configuration: every environment variable, read and checked once at start, each with
a working default. A bad value stops the process with one line naming the variable,
the value and what is allowed (ConfigError). A secret may be given in a file instead:
`BOOTSTRAP_TOKEN_FILE`, `DATABASE_URL_FILE` (the file's content, without its final
newline)."""

import os
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.throttle import parse_rate

SECRET_FILES = ("BOOTSTRAP_TOKEN", "DATABASE_URL")


class ConfigError(Exception):
    """A setting that cannot be used; the message names it, its value and the rule."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_ignore_empty=True)

    database_url: str = "sqlite:///plex-api.sqlite3"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    bootstrap_token: str | None = None
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    log_format: Literal["text", "json"] = "text"
    app_flavour: Literal["async", "flask"] = "async"
    plex_api_url: str = "https://plex.tv"
    # seconds, for one login's calls to plex.tv together
    plex_timeout: float = Field(10.0, gt=0)
    plex_concurrency: int = Field(32, ge=1)  # logins talking to plex.tv at once, per process
    workers: int = Field(1, ge=1)  # server processes
    throttle_anon: str = "1000/second"  # anonymous calls per client address (authentik's)
    trusted_proxies: int = Field(0, ge=0)  # reverse proxies whose X-Forwarded-For counts
    limit_concurrency: int = Field(1000, ge=1)  # connections and requests per process
    keep_alive_timeout: int = Field(5, ge=0)  # seconds an idle kept-alive connection lives
    migrate_on_start: bool = True  # `serve` migrates the database first
    # days events are kept (at most a century: dates past year 9999 cannot be stored)
    event_retention_days: int = Field(365, ge=1, le=36500)

    @field_validator("log_level", "log_format", "app_flavour", mode="before")
    @classmethod
    def _lower_case(cls, value):
        return value.lower() if isinstance(value, str) else value

    @field_validator("throttle_anon")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        parse_rate(value)  # ValueError says what a rate looks like
        return value

    @classmethod
    def from_env(cls) -> "Settings":
        """The settings the environment gives; ConfigError for a value that is not one."""
        given = {}
        for name in SECRET_FILES:
            path = os.environ.get(f"{name}_FILE")
            if path:
                try:
                    with open(path, encoding="utf-8") as file:
                        given[name.lower()] = file.read().removesuffix("\n")
                except OSError as error:
                    raise ConfigError(f"{name}_FILE={path!r}: {error.strerror}") from None
        try:
            return cls(**given)
        except ValidationError as error:
            problem = error.errors()[0]
            name = str(problem["loc"][0]).upper()
            shown = "…" if name in SECRET_FILES else repr(problem.get("input"))
            message = problem["msg"].removeprefix("Value error, ")
            raise ConfigError(f"{name}={shown}: {message}") from None
