"""models/events.py: what an event holds, cleansed of credentials."""

import uuid
from datetime import timedelta

from models.events import (
    CLEANSED,
    EVENT_ACTIONS,
    Audit,
    action_types,
    cleansed,
    event_row,
    model_dict,
)


def test_credential_like_keys_are_cleansed_at_any_depth():
    context = {
        "args": {"plex_token": "t", "page": "2", "Authorization": "Bearer k"},
        "nested": [{"api_key": "k", "kept": "v"}],
        "password": {"inner": "dicts are walked, not replaced"},
        "text": "a\x00b",
    }
    assert cleansed(context) == {
        "args": {"plex_token": CLEANSED, "page": "2", "Authorization": CLEANSED},
        "nested": [{"api_key": CLEANSED, "kept": "v"}],
        "password": {"inner": "dicts are walked, not replaced"},
        "text": "ab",
    }


def test_model_dicts_write_uuids_as_hex():
    pk = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert model_dict("authentik_core", "group", pk, "team") == {
        "app": "authentik_core", "model_name": "group",
        "pk": "12345678123456781234567812345678", "name": "team",
    }  # fmt: skip
    assert model_dict("authentik_core", "user", 7, "Alice")["pk"] == 7


def test_an_event_row_carries_who_where_and_the_model():
    audit = Audit(
        user={"pk": 7, "username": "alice", "email": ""},
        client_ip="192.0.2.1",
        http_request={"args": {"key": "secret"}, "path": "/p", "method": "POST"},
    )
    model = model_dict("authentik_core", "user", 7, "Alice")
    row = event_row("model_created", {"model": model}, retention=timedelta(days=2), audit=audit)
    assert row["expires"] - row["created"] == timedelta(days=2)
    assert (row["username"], row["model_app"], row["model_name"], row["model_pk"]) == (
        "alice", "authentik_core", "user", "7"
    )  # fmt: skip
    assert row["context"]["http_request"]["args"] == {"key": CLEANSED}
    assert (row["client_ip"], row["brand"], row["app"]) == (
        "192.0.2.1", {}, "authentik.events.middleware"
    )  # fmt: skip
    server = event_row("configuration_error", {"message": "m"}, retention=timedelta(days=1))
    assert (server["user"], server["username"], server["model_pk"]) == ({}, None, None)


def test_every_action_is_a_type():
    types = action_types()
    assert [t["component"] for t in types] == list(EVENT_ACTIONS)
    assert {t["description"] for t in types} == {""}
    assert {t["name"] for t in types} >= {"Model Updated", "Source Linked", "Invite Used"}
