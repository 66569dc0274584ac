"""Configuration, from environment variables, each with a working default."""

import os
from dataclasses import dataclass

from app.throttle import parse_rate

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
    plex_timeout: float = 10.0  # seconds, for one login's calls to plex.tv together
    plex_concurrency: int = 32  # logins talking to plex.tv at once, per process
    workers: int = 1  # server processes (`make serve`)
    throttle_anon: str = "1000/second"  # anonymous calls per client address (authentik's)
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-For counts
    limit_concurrency: int = 1000  # connections and requests per server process
    keep_alive_timeout: int = 5  # seconds an idle kept-alive connection stays open

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
            plex_concurrency=int(env.get("PLEX_CONCURRENCY") or cls.plex_concurrency),
            workers=int(env.get("WORKERS") or cls.workers),
            throttle_anon=env.get("THROTTLE_ANON") or cls.throttle_anon,
            trusted_proxies=int(env.get("TRUSTED_PROXIES") or cls.trusted_proxies),
            limit_concurrency=int(env.get("LIMIT_CONCURRENCY") or cls.limit_concurrency),
            keep_alive_timeout=int(env.get("KEEP_ALIVE_TIMEOUT") or cls.keep_alive_timeout),
        )
        if settings.app_flavour not in FLAVOURS:
            raise SystemExit(f"APP_FLAVOUR must be one of {', '.join(FLAVOURS)}")
        try:
            parse_rate(settings.throttle_anon)
        except ValueError as error:
            raise SystemExit(f"THROTTLE_ANON: {error}") from None
        return settings
