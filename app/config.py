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
    plex_api_url: str = "https://plex.tv"
    plex_timeout: float = 10.0  # seconds, for each call to plex.tv
    workers: int = 1  # server processes (`make serve`)

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
            plex_api_url=env.get("PLEX_API_URL") or cls.plex_api_url,
            plex_timeout=float(env.get("PLEX_TIMEOUT") or cls.plex_timeout),
            workers=int(env.get("WORKERS") or cls.workers),
        )
        if settings.app_flavour not in FLAVOURS:
            raise SystemExit(f"APP_FLAVOUR must be one of {', '.join(FLAVOURS)}")
        return settings
