"""Fixtures: real databases (a SQLite file and a fresh PostgreSQL database), the real
app in both flavours, and clients that talk to it over ASGI. Shared helpers are in
tests/helpers.py."""

import os
import uuid

import psycopg
import pytest

from app.config import Settings
from app.main import create_app
from models import migrate
from tests.fake_plex import FakePlex
from tests.helpers import AUTH, TOKEN, empty_database
from tests.server import running_server

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.hookimpl(trylast=True)  # after pytest has grouped the tests by fixture
def pytest_collection_modifyitems(items):
    # The slow tests first: dealt out to xdist's workers from the start, rather than
    # left to the last worker while the other waits (the test run's time).
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _postgres_database():
    """Create a fresh, uniquely named database on the local server; yield its URL."""
    name = f"plexapi_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            raise  # CI must run the PostgreSQL tests, never skip them
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database_url(request, tmp_path):
    """A database of each kind with nothing in it, not even tables (a SQLite file that
    does not exist yet)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    generator = _postgres_database()
    yield next(generator)
    generator.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated, empty database of each kind, for the whole run."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'api.sqlite3'}"
        migrate.upgrade(url)
        yield url
        return
    generator = _postgres_database()
    url = next(generator)
    migrate.upgrade(url)
    yield url
    generator.close()


@pytest.fixture(scope="session", params=["async", "flask"])
def flavour(request):
    return request.param


@pytest.fixture(scope="session")
def fake_plex_server():
    """plex.tv, played on loopback for the whole run."""
    server = FakePlex()
    yield server
    server.close()


@pytest.fixture
def fake_plex(fake_plex_server):
    fake_plex_server.reset()
    return fake_plex_server


@pytest.fixture(scope="session")
def app_for(database_url, fake_plex_server):
    """Apps per flavour on this database, built once (response validation on), talking
    to the loopback plex.tv. Their deadline is generous, so a busy CI machine never turns
    a slow answer into a 502; tests of the deadline shorten it (`short_plex_deadline`)."""
    apps = {}

    def build(flavour):
        if flavour not in apps:
            settings = Settings(
                database_url=database_url,
                bootstrap_token=TOKEN,
                app_flavour=flavour,
                plex_api_url=fake_plex_server.url,
                plex_timeout=10.0,
            )
            apps[flavour] = create_app(settings, validate_responses=True)
        return apps[flavour]

    yield build
    for app in apps.values():
        app.store.close()


@pytest.fixture
def server(app_for, flavour, fake_plex):
    """The production command serving an emptied database of this run's kind, with
    plex.tv played on loopback."""
    store = app_for(flavour).store
    empty_database(store)
    with running_server(store.url, TOKEN, flavour, plex_api_url=fake_plex.url) as base:
        yield base


@pytest.fixture
def app(app_for, flavour):
    app = app_for(flavour)
    empty_database(app.store)
    return app


@pytest.fixture
def short_plex_deadline(app):
    """A 1 s deadline for this test's logins, against a plex.tv that hangs or drips."""
    app.plex.timeout, generous = 1.0, app.plex.timeout
    yield
    app.plex.timeout = generous


@pytest.fixture
def store(app):
    return app.store


@pytest.fixture
def anon(app):
    """A client without credentials."""
    with app.test_client(base_url="http://testserver/api/v3") as client:
        yield client


@pytest.fixture
def api(app):
    """A client authenticated as the bootstrap superuser."""
    with app.test_client(base_url="http://testserver/api/v3", headers=AUTH) as client:
        yield client
