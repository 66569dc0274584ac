"""app/config.py: settings from the environment, each with a working default, checked
once; a bad value stops the process with one line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import ConfigError, Settings

NAMES = ("DATABASE_URL", "HOST", "PORT", "BOOTSTRAP_TOKEN", "LOG_LEVEL", "APP_FLAVOUR",
         "PLEX_API_URL", "PLEX_TIMEOUT", "PLEX_CONCURRENCY", "WORKERS", "THROTTLE_ANON",
         "TRUSTED_PROXIES", "LIMIT_CONCURRENCY", "KEEP_ALIVE_TIMEOUT", "MIGRATE_ON_START",
         "BOOTSTRAP_TOKEN_FILE", "DATABASE_URL_FILE")  # fmt: skip
PLEX_API = str(Path(sys.executable).parent / "plex-api")


@pytest.fixture
def clean_env(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_serve_the_embedded_sqlite_on_loopback(clean_env):
    settings = Settings.from_env()
    assert (settings.database_url, settings.host, settings.port) == (
        "sqlite:///plex-api.sqlite3", "127.0.0.1", 8000,
    )  # fmt: skip
    assert (settings.log_level, settings.app_flavour, settings.workers) == ("info", "async", 1)
    assert (settings.plex_api_url, settings.plex_timeout) == ("https://plex.tv", 10.0)
    assert (settings.throttle_anon, settings.trusted_proxies) == ("1000/second", 0)
    assert settings.bootstrap_token is None and settings.migrate_on_start is True


def test_every_variable_is_read(clean_env):
    values = {
        "DATABASE_URL": "postgresql://db/x", "HOST": "0.0.0.0", "PORT": "9000",
        "BOOTSTRAP_TOKEN": "key", "LOG_LEVEL": "DEBUG", "APP_FLAVOUR": "Flask",
        "PLEX_API_URL": "http://127.0.0.1:9", "PLEX_TIMEOUT": "2.5", "WORKERS": "3",
        "PLEX_CONCURRENCY": "4", "THROTTLE_ANON": "20/minute", "TRUSTED_PROXIES": "1",
        "LIMIT_CONCURRENCY": "50", "KEEP_ALIVE_TIMEOUT": "9", "MIGRATE_ON_START": "false",
    }  # fmt: skip
    for name, value in values.items():
        clean_env.setenv(name, value)
    settings = Settings.from_env()
    assert (settings.port, settings.workers, settings.plex_timeout) == (9000, 3, 2.5)
    assert (settings.log_level, settings.app_flavour) == ("debug", "flask")
    assert (settings.plex_concurrency, settings.throttle_anon) == (4, "20/minute")
    assert (settings.trusted_proxies, settings.limit_concurrency) == (1, 50)
    assert (settings.keep_alive_timeout, settings.migrate_on_start) == (9, False)
    assert settings.bootstrap_token == "key"


def test_an_empty_variable_is_the_default(clean_env):
    clean_env.setenv("PORT", "")
    assert Settings.from_env().port == 8000


def test_secrets_from_files(clean_env, tmp_path):
    (tmp_path / "token").write_text("from-a-file\n")
    clean_env.setenv("BOOTSTRAP_TOKEN_FILE", str(tmp_path / "token"))
    assert Settings.from_env().bootstrap_token == "from-a-file"
    clean_env.setenv("DATABASE_URL_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=r"^DATABASE_URL_FILE='.*missing': No such file"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "abc", "PORT='abc': Input should be a valid integer, unable to parse string "
                        "as an integer"),
        ("PORT", "70000", "PORT='70000': Input should be less than or equal to 65535"),
        ("LOG_LEVEL", "verbose", "LOG_LEVEL='verbose': Input should be 'debug', 'info', "
                                 "'warning', 'error' or 'critical'"),
        ("APP_FLAVOUR", "django", "APP_FLAVOUR='django': Input should be 'async' or 'flask'"),
        ("WORKERS", "0", "WORKERS='0': Input should be greater than or equal to 1"),
        ("PLEX_TIMEOUT", "-1", "PLEX_TIMEOUT='-1': Input should be greater than 0"),
        ("THROTTLE_ANON", "fast", "THROTTLE_ANON='fast': 'fast' is not a rate such as "
                                  "1000/second or 20/minute"),
        ("MIGRATE_ON_START", "maybe", "MIGRATE_ON_START='maybe': Input should be a valid "
                                      "boolean, unable to interpret input"),
    ],
)  # fmt: skip
def test_a_bad_value_stops_the_server_in_one_line(clean_env, name, value, message):
    env = {"PATH": os.environ["PATH"], name: value}
    result = subprocess.run([PLEX_API, "serve"], env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"plex-api: {message}"]
