"""Configuration, from environment variables, each with a working default."""

import os
from dataclasses import dataclass

FLAVOURS = ("async", "flask")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///plex-api.sqlite3"
    host: str = "127.0.0.1"
    port: int = 8000
    bootstrap_token: str | None = None
    log_level: str = "info"
    app_flavour: str = "async"

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        settings = cls(
            database_url=env.get("DATABASE_URL") or cls.database_url,
            host=env.get("HOST") or cls.host,
            port=int(env.get("PORT") or cls.port),
            bootstrap_token=env.get("BOOTSTRAP_TOKEN") or None,
            log_level=(env.get("LOG_LEVEL") or cls.log_level).lower(),
            app_flavour=(env.get("APP_FLAVOUR") or cls.app_flavour).lower(),
        )
        if settings.app_flavour not in FLAVOURS:
            raise SystemExit(f"APP_FLAVOUR must be one of {', '.join(FLAVOURS)}")
        return settings
