"""models/logins.py: which user a Plex account is, pending logins, connections, events."""

import uuid
from datetime import timedelta

import pytest

from models.errors import Denied, NotFound, Refused
from models.resources import FLOWS, SOURCES
from tests.helpers import count_rows

INFO = {"username": "plexuser", "email": "p@x.org", "authToken": "secret"}


@pytest.fixture
def source(store):
    flows = [
        store.create(FLOWS, {"name": d, "slug": d, "title": d, "designation": d})
        for d in ("authentication", "enrollment")
    ]
    store.create(SOURCES, {
        "name": "Plex", "slug": "plex", "plex_token": "owner",
        "authentication_flow": flows[0]["pk"], "enrollment_flow": flows[1]["pk"],
    })  # fmt: skip
    return store.login_source("plex")


def test_an_unknown_account_enrols_and_its_token_is_not_kept(store, source):
    flow, pending = store.begin_login(source.pk, "77", INFO, "user-token")
    assert flow == "enrollment"
    login = store.pending_login(pending)
    assert (login["action"], login["user"], login["identifier"]) == ("enroll", None, "77")
    assert "authToken" not in login["user_info"]


def test_a_linked_account_authenticates(store, source):
    store.create_user("alice")
    alice = next(u for u in store.list_users() if u["username"] == "alice")
    user_id = store.identity_for_token(store.create_token("k", "alice")).user_id
    store.link_plex_account(user_id, source.pk, "77", "user-token")
    store.link_plex_account(user_id, source.pk, "77", "newer-token")  # updates, one row
    assert count_rows(store, "user_plex_source_connection") == 1
    flow, pending = store.begin_login(source.pk, "77", INFO, "user-token")
    assert flow == "authentication"
    assert store.pending_login(pending)["user"] == user_id
    assert alice["active"]


@pytest.mark.parametrize(
    ("mode", "outcome"), [("username_link", "authentication"), ("username_deny", Denied)]
)
def test_username_matching(store, source, mode, outcome):
    store.update(SOURCES, "plex", {"user_matching_mode": mode})
    store.create_user("plexuser")
    if outcome is Denied:
        with pytest.raises(Denied, match="Request to authenticate with Plex has been denied"):
            store.begin_login(source.pk, "77", INFO, "user-token")
        return
    flow, _pending = store.begin_login(source.pk, "77", INFO, "user-token")
    assert flow == outcome
    assert count_rows(store, "user_plex_source_connection") == 1


def test_without_an_enrolment_flow_the_login_is_refused(store, source):
    store.update(SOURCES, "plex", {"enrollment_flow": None})
    with pytest.raises(Refused, match="Source is not configured for enrollment."):
        store.begin_login(source.pk, "77", INFO, "user-token")
    assert count_rows(store, "pending_login") == 0


def test_unknown_sources_and_pending_logins(store):
    with pytest.raises(NotFound):
        store.login_source("missing")
    with pytest.raises(NotFound):
        store.begin_login(uuid.uuid4(), "77", INFO, "t")
    assert store.pending_login(uuid.uuid4()) is None


def test_a_pending_login_expires(store, source, monkeypatch):
    _flow, pending = store.begin_login(source.pk, "77", INFO, "user-token")
    import models.logins

    later = models.logins.now() + models.logins.PENDING_LOGIN_LIFETIME + timedelta(seconds=1)
    monkeypatch.setattr(models.logins, "now", lambda: later)
    assert store.pending_login(pending) is None


def test_events_are_recorded_and_listed(store, source):
    store.record_event("configuration_error", "Plex token invalid", source)
    store.record_event("other", "x", None)
    (event,) = store.list_events("configuration_error")
    assert event["message"] == "Plex token invalid"
    assert event["context"] == {
        "message": "Plex token invalid",
        "source": {
            "app": "authentik_sources_plex",
            "model_name": "plexsource",
            "pk": source.pk.hex,
            "name": "Plex",
        },
    }
    assert len(store.list_events()) == 2
