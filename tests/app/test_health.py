"""app/health.py: every source's token asked of plex.tv; a refused one leaves a
configuration_error event that never quotes the token."""

from app.config import Settings
from app.health import check_plex_tokens
from models.resources import SOURCES
from models.store import Store
from tests.fake_plex import OWNER_ID
from tests.helpers import empty_database


def test_refused_tokens_are_recorded_without_the_token(database_url, fake_plex):
    store = Store(database_url)
    empty_database(store)
    fake_plex.add_account("good-token", id=OWNER_ID)
    for slug, token in (("good", "good-token"), ("bad", "bad-token")):
        store.create(SOURCES, {"name": slug, "slug": slug, "plex_token": token})
    settings = Settings(plex_api_url=fake_plex.url, plex_timeout=10.0)
    try:
        results = check_plex_tokens(store, settings)
        events = store.list_events("configuration_error")
    finally:
        store.close()
    assert results == [("bad", "plex.tv answered 401 to /api/v2/user"), ("good", None)]
    (event,) = events
    assert event["message"] == (
        "Plex token invalid, please re-authenticate source.\nplex.tv answered 401 to /api/v2/user"
    )
    assert event["context"]["source"]["name"] == "bad"
    assert "bad-token" not in str(event)
