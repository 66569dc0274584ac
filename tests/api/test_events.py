"""`/events/events/`: what the API's writes, Plex logins and the token check record, as
authentik's API serves events."""

import re
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from app.admin import main as plex_admin
from models.events import EVENT_ACTIONS
from tests.api.test_users import MISSING, bearer, make_user
from tests.app.test_login import LINK, REDEEM, USER_ID, flows, plex  # noqa: F401  (fixtures)
from tests.helpers import TOKEN, make_source

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
EVENT_FIELDS = [
    "pk", "user", "action", "app", "context", "client_ip", "created", "expires", "brand",
]  # fmt: skip


def events(api, query="") -> list[dict]:
    response = api.get(f"/events/events/{query}")
    assert response.status_code == 200, response.text
    return response.json()["results"]


def admin(store) -> dict:
    identity = store.identity_for_token(TOKEN)
    return {"pk": identity.user_id, "username": "akadmin", "email": ""}


def test_api_writes_record_model_events(api, store):
    source = make_source(api, name="Home", slug="home")
    api.patch("/sources/plex/home/?plex_token=secret-in-query", json={"enabled": False})
    api.delete("/sources/plex/home/")

    recorded = events(api, f"?context_model_pk={source['pk']}")
    assert [e["action"] for e in recorded] == ["model_deleted", "model_updated", "model_created"]
    updated = recorded[1]
    assert list(updated) == EVENT_FIELDS
    model = {
        "app": "authentik_sources_plex",
        "model_name": "plexsource",
        "pk": uuid.UUID(source["pk"]).hex,
        "name": "Home",
    }
    assert updated == {
        **updated,
        "user": admin(store),
        "action": "model_updated",
        "app": "authentik.events.middleware",
        "context": {
            "model": model,
            "http_request": {
                "args": {"plex_token": "********************"},
                "path": "/api/v3/sources/plex/home/",
                "method": "PATCH",
                "user_agent": "testclient",
            },
        },
        "client_ip": "testclient",
        "brand": {},
    }
    assert DATETIME.match(updated["created"]) and DATETIME.match(updated["expires"])
    created = datetime.fromisoformat(updated["created"])
    assert datetime.fromisoformat(updated["expires"]) - created == timedelta(days=365)
    # The source's Plex token is in no event.
    assert "owner-token" not in str(events(api))
    assert api.get(f"/events/events/{updated['pk']}/").json() == updated


def test_event_filters_and_ordering(api, store):
    make_user(api, username="dana")
    group = api.post("/core/groups/", json={"name": "team"}).json()
    key = store.create_token("dana-key", "dana")
    store.grant("authentik_core.view_group", user="dana")
    store.grant("authentik_core.change_group", user="dana")
    as_dana = bearer(key)
    api.patch(f"/core/groups/{group['pk']}/", json={"name": "crew"}, headers=as_dana)

    assert [e["action"] for e in events(api, "?username=dana")] == ["model_updated"]
    assert len(events(api, "?action=MODEL_")) == 3
    assert len(events(api, "?actions=model_created&actions=model_deleted")) == 2
    assert len(events(api, "?context_model_name=group")) == 2
    assert len(events(api, "?context_model_app=authentik_core")) == 3
    by_dashed_pk = events(api, f"?context_model_pk={group['pk']}")
    assert [e["context"]["model"]["name"] for e in by_dashed_pk] == ["crew", "team"]
    assert events(api, "?client_ip=testclient&ordering=created")[0]["action"] == "model_created"
    assert events(api, "?brand_name=x") == []
    assert [e["context"]["model"]["name"] for e in events(api, "?search=crew")] == ["crew"]
    missing = api.get(f"/events/events/{MISSING}/")
    assert (missing.status_code, missing.json()) == (
        404,
        {"detail": "No Event matches the given query."},
    )


def test_events_need_view_event(api, anon, store):
    make_user(api, username="erin")
    as_erin = bearer(store.create_token("erin-key", "erin"))
    refused = anon.get("/events/events/", headers=as_erin)
    assert (refused.status_code, refused.json()) == (
        403, {"detail": "You do not have permission to perform this action."}
    )  # fmt: skip
    store.grant("authentik_events.view_event", user="erin")
    assert anon.get("/events/events/", headers=as_erin).status_code == 200


def test_actions_lists_every_action(api, anon, store):
    make_user(api, username="erin")
    as_erin = bearer(store.create_token("erin-key", "erin"))
    actions = anon.get("/events/events/actions/", headers=as_erin)
    assert actions.status_code == 200
    assert actions.json()[-1] == {
        "name": "Custom Prefix", "description": "", "component": "custom_", "model_name": "",
        "requires_enterprise": False, "deprecated": False,
    }  # fmt: skip
    assert [a["component"] for a in actions.json()] == list(EVENT_ACTIONS)


def test_group_membership_changes_record_model_updated(api, store):
    user = make_user(api, username="finn")
    group = api.post("/core/groups/", json={"name": "team"}).json()
    api.post(f"/core/groups/{group['pk']}/add_user/", json={"pk": user["pk"]})
    api.post(f"/core/groups/{group['pk']}/add_user/", json={"pk": user["pk"]})  # no change
    api.post(f"/core/groups/{group['pk']}/remove_user/", json={"pk": user["pk"]})
    recorded = events(api, f"?context_model_pk={group['pk']}&ordering=created")
    assert [e["action"] for e in recorded] == ["model_created", "model_updated", "model_updated"]


def test_token_keys_never_reach_an_event(api, store):
    user = make_user(api, username="gale")
    created = api.post("/core/tokens/", json={"identifier": "gale-key", "user": user["pk"]})
    key = created.json()["key"]
    api.post("/core/tokens/gale-key/set_key/", json={"key": "gale-chose-this-key-42"})
    shown = str(events(api))
    assert key not in shown and "gale-chose-this-key-42" not in shown
    recorded = events(api, "?context_model_name=token&ordering=created")
    assert [e["action"] for e in recorded] == ["model_created", "model_updated"]
    names = [e["context"]["model"]["name"] for e in recorded]
    assert all(name.startswith("gale-key (expires=") for name in names)


def test_plex_links_and_logins_are_recorded(anon, api, plex, store):  # noqa: F811
    assert api.post(LINK, json={"plex_token": "user-token"}).status_code == 204
    (linked,) = events(api, "?action=source_linked")
    source = api.get("/sources/plex/plex/").json()
    assert linked["user"] == admin(store)
    assert linked["app"] == "authentik.core"
    assert linked["context"] == {
        "message": "Linked Source",
        "source": {"app": "authentik_sources_plex", "model_name": "plexsource",
                   "pk": uuid.UUID(source["pk"]).hex, "name": "Plex"},
        "http_request": {"args": {"slug": "plex"}, "path": "/api/v3" + LINK.split("?")[0],
                         "method": "POST", "user_agent": "testclient"},
    }  # fmt: skip
    # Linked already: a second link is an update, not a new link.
    api.post(LINK, json={"plex_token": "user-token"})
    assert len(events(api, "?action=source_linked")) == 1
    # The linked account logs in as the caller: a login.
    assert anon.post(REDEEM, json={"plex_token": "user-token"}).status_code == 200
    (login,) = events(api, "?action=login")
    assert (login["user"], login["app"], login["client_ip"]) == (
        admin(store), "authentik.events", "testclient"
    )  # fmt: skip
    assert login["context"]["source"]["name"] == "Plex"
    assert "user-token" not in str(events(api))


@pytest.mark.parametrize("flavour", ["async"])
def test_cleanup_deletes_expired_events(api, store, monkeypatch, capsys):
    make_source(api)
    store.record_event("configuration_error", "old", None)
    with store.engine.begin() as connection:
        connection.execute(
            text("UPDATE event SET expires = :past WHERE action = 'configuration_error'"),
            {"past": datetime(2020, 1, 1)},
        )
    monkeypatch.setenv("DATABASE_URL", store.url)
    assert plex_admin(["events", "cleanup"]) == 0
    assert capsys.readouterr().out == "deleted 1 expired events\n"
    assert [e["action"] for e in store.list_events()] == ["model_created"]
