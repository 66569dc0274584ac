"""app/config.py: settings from the environment, each with a working default."""

import pytest

from app.config import Settings


def test_defaults_serve_the_embedded_sqlite_on_loopback(monkeypatch):
    for name in ("DATABASE_URL", "HOST", "PORT", "BOOTSTRAP_TOKEN", "LOG_LEVEL", "APP_FLAVOUR",
                 "PLEX_API_URL", "PLEX_TIMEOUT", "WORKERS"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert Settings.from_env() == Settings(
        database_url="sqlite:///plex-api.sqlite3",
        host="127.0.0.1",
        port=8000,
        bootstrap_token=None,
        log_level="info",
        app_flavour="async",
        plex_api_url="https://plex.tv",
        plex_timeout=10.0,
        workers=1,
    )


def test_every_variable_is_read(monkeypatch):
    values = {
        "DATABASE_URL": "postgresql://db/x", "HOST": "0.0.0.0", "PORT": "9000",
        "BOOTSTRAP_TOKEN": "key", "LOG_LEVEL": "DEBUG", "APP_FLAVOUR": "Flask",
        "PLEX_API_URL": "http://127.0.0.1:9", "PLEX_TIMEOUT": "2.5", "WORKERS": "3",
    }  # fmt: skip
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert (settings.port, settings.workers, settings.plex_timeout) == (9000, 3, 2.5)
    assert (settings.log_level, settings.app_flavour) == ("debug", "flask")
    assert settings.bootstrap_token == "key"


def test_an_unknown_flavour_stops_the_process(monkeypatch):
    monkeypatch.setenv("APP_FLAVOUR", "django")
    with pytest.raises(SystemExit, match="APP_FLAVOUR must be one of async, flask"):
        Settings.from_env()
