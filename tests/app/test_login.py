"""Plex login against a real HTTP server on loopback playing plex.tv."""

import time
import uuid

import pytest

from tests.fake_plex import OWNER_ID, RESOURCES
from tests.helpers import AUTH, TOKEN, count_rows, make_flow, make_source

USER_ID = OWNER_ID + 1
REDEEM = "/sources/plex/redeem_token/?slug=plex"
LINK = "/sources/plex/redeem_token_authenticated/?slug=plex"


@pytest.fixture
def flows(api):
    return (
        make_flow(api, slug="plex-auth", designation="authentication"),
        make_flow(api, slug="plex-enrol", designation="enrollment"),
    )


@pytest.fixture
def plex(fake_plex, api, flows):
    """The owner's account, a user with the `allowed` and `denied` servers, and a
    source that allows the `allowed` server and friends."""
    fake_plex.add_account("owner-token", id=OWNER_ID, friends=[])
    fake_plex.add_account(
        "user-token", id=USER_ID, resources=RESOURCES, username="plexuser", email="p@x.org"
    )
    make_source(
        api,
        plex_token="owner-token",
        client_id="our-client",
        allowed_servers=["allowed"],
        authentication_flow=flows[0]["pk"],
        enrollment_flow=flows[1]["pk"],
    )
    return fake_plex


def redirect_target(response) -> tuple[str, str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["component"] == "xak-flow-redirect"
    path, _, query = body["to"].partition("?plex_login=")
    return path, query


def test_allowed_server_enrols_a_new_account(anon, plex, store):
    response = anon.post(REDEEM, json={"plex_token": "user-token"})
    path, pending = redirect_target(response)
    assert path == "/if/flow/plex-enrol/"
    login = store.pending_login(uuid.UUID(pending))
    assert login["action"] == "enroll"
    assert login["identifier"] == str(USER_ID)
    assert login["user_info"]["username"] == "plexuser"
    assert login["user"] is None


def test_the_calls_plex_tv_gets(anon, plex):
    anon.post(REDEEM, json={"plex_token": "user-token"})
    user_call = next(r for r in plex.requests if r["headers"]["X-Plex-Token"] == "user-token")
    assert user_call["path"] == "/api/v2/user"
    assert user_call["query"] == {}  # a token in a URL ends up in logs
    assert user_call["headers"]["X-Plex-Client-Identifier"] == "our-client"
    assert user_call["headers"]["X-Plex-Product"] == "authentik"
    assert user_call["headers"]["X-Plex-Device-Vendor"] == "goauthentik.io"
    assert user_call["headers"]["Accept"] == "application/json"
    assert {r["path"] for r in plex.requests} >= {"/api/v2/user", "/api/v2/resources"}


def test_no_allowed_server_and_no_friend_is_denied(anon, api, plex, store):
    api.patch("/sources/plex/plex/", json={"allowed_servers": ["elsewhere"]})
    response = anon.post(REDEEM, json={"plex_token": "user-token"})
    assert response.status_code == 403
    assert response.json() == {"detail": "Access denied."}
    assert count_rows(store, "pending_login") == 0


def test_empty_allowed_servers_allows_any_server(anon, api, plex):
    api.patch("/sources/plex/plex/", json={"allowed_servers": [], "allow_friends": False})
    path, _ = redirect_target(anon.post(REDEEM, json={"plex_token": "user-token"}))
    assert path == "/if/flow/plex-enrol/"


def test_a_server_must_provide_server(anon, api, plex):
    plex.add_account("client-token", id=77, resources=[
        {"clientIdentifier": "allowed", "provides": "client,player"},
    ])  # fmt: skip
    api.patch("/sources/plex/plex/", json={"allow_friends": False})
    assert anon.post(REDEEM, json={"plex_token": "client-token"}).status_code == 403
    plex.add_account("combo-token", id=78, resources=[
        {"clientIdentifier": "allowed", "provides": "client,server"},
    ])  # fmt: skip
    assert anon.post(REDEEM, json={"plex_token": "combo-token"}).status_code == 200


def test_the_owner_is_always_allowed(anon, api, plex):
    api.patch("/sources/plex/plex/", json={"allowed_servers": ["elsewhere"]})
    path, _ = redirect_target(anon.post(REDEEM, json={"plex_token": "owner-token"}))
    assert path == "/if/flow/plex-enrol/"
    assert not any(r["path"] == "/api/v2/friends" for r in plex.requests)


def test_a_friend_is_allowed(anon, api, plex):
    api.patch("/sources/plex/plex/", json={"allowed_servers": ["elsewhere"]})
    plex.accounts["owner-token"]["friends"] = [{"id": USER_ID}]
    assert anon.post(REDEEM, json={"plex_token": "user-token"}).status_code == 200


def test_friends_are_not_asked_when_friends_are_not_allowed(anon, api, plex):
    api.patch(
        "/sources/plex/plex/", json={"allowed_servers": ["elsewhere"], "allow_friends": False}
    )
    plex.accounts["owner-token"]["friends"] = [{"id": USER_ID}]
    assert anon.post(REDEEM, json={"plex_token": "user-token"}).status_code == 403


def test_friends_list_failing_denies(anon, api, plex):
    api.patch("/sources/plex/plex/", json={"allowed_servers": ["elsewhere"]})
    plex.accounts["owner-token"]["friends"] = [{"id": USER_ID}]
    plex.fail("owner-token", "friends", 410)
    response = anon.post(REDEEM, json={"plex_token": "user-token"})
    assert response.status_code == 403
    assert response.json() == {"detail": "Access denied."}


@pytest.mark.parametrize(
    ("mode", "existing", "outcome"),
    [
        ("identifier", None, "enroll"),
        ("email_link", {"email": "p@x.org"}, "authenticate"),
        ("email_link", {"email": "other@x.org"}, "enroll"),
        ("email_deny", {"email": "p@x.org"}, "deny"),
        ("email_deny", None, "enroll"),
        ("username_link", {"username": "plexuser"}, "authenticate"),
        ("username_deny", {"username": "plexuser"}, "deny"),
        ("username_deny", {"username": "someone"}, "enroll"),
    ],
)
def test_user_matching_modes(anon, api, plex, store, mode, existing, outcome):
    api.patch("/sources/plex/plex/", json={"user_matching_mode": mode})
    if existing:
        store.create_user(existing.get("username", "existing"), email=existing.get("email", ""))
    response = anon.post(REDEEM, json={"plex_token": "user-token"})
    if outcome == "deny":
        assert response.status_code == 403
        assert response.json() == {
            "detail": "Request to authenticate with Plex has been denied. Please authenticate "
            "with the source you've previously signed up with."
        }
        return
    path, pending = redirect_target(response)
    assert (
        path == {"enroll": "/if/flow/plex-enrol/", "authenticate": "/if/flow/plex-auth/"}[outcome]
    )
    login = store.pending_login(uuid.UUID(pending))
    assert login["action"] == outcome
    # A link connects the Plex account to the matched user from then on.
    assert count_rows(store, "user_plex_source_connection") == (outcome == "authenticate")


def test_a_connected_account_authenticates(anon, api, plex, store):
    store.create_user("alice")
    source_pk = api.get("/sources/plex/plex/").json()["pk"]
    alice_id = store.identity_for_token(store.create_token("a", "alice")).user_id
    store.link_plex_account(alice_id, uuid.UUID(source_pk), str(USER_ID), "user-token")
    path, pending = redirect_target(anon.post(REDEEM, json={"plex_token": "user-token"}))
    assert path == "/if/flow/plex-auth/"
    assert store.pending_login(uuid.UUID(pending))["user"] == alice_id


def test_source_without_enrollment_flow(anon, api, plex):
    api.patch("/sources/plex/plex/", json={"enrollment_flow": None})
    response = anon.post(REDEEM, json={"plex_token": "user-token"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Source is not configured for enrollment."}


def test_redeem_with_credentials_links_the_caller(api, plex, store):
    response = api.post(REDEEM, json={"plex_token": "user-token"})
    assert response.status_code == 200
    assert response.json() == {
        "component": "xak-flow-redirect",
        "to": "/if/user/#/settings;page-sources",
    }
    caller = store.identity_for_token(TOKEN).user_id
    connections = api.get("/sources/user_connections/plex/").json()["results"]
    assert [(c["user"], c["identifier"]) for c in connections] == [(caller, str(USER_ID))]
    assert count_rows(store, "pending_login") == 0


def test_redeem_authenticated_creates_then_updates(api, plex, store):
    first = api.post(LINK, json={"plex_token": "user-token"})
    assert first.status_code == 204
    assert first.content == b""
    plex.add_account("new-token", id=USER_ID, resources=RESOURCES)
    second = api.post(LINK, json={"plex_token": "new-token"})
    assert second.status_code == 204
    assert count_rows(store, "user_plex_source_connection") == 1
    with store.engine.connect() as connection:
        from sqlalchemy import text

        token = connection.execute(text("SELECT plex_token FROM user_plex_source_connection"))
        assert token.scalar_one() == "new-token"


def test_redeem_authenticated_needs_credentials(anon, plex):
    response = anon.post(LINK, json={"plex_token": "user-token"})
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_bad_credentials_are_refused_even_where_anonymous_is_allowed(anon, plex):
    response = anon.post(
        REDEEM, json={"plex_token": "user-token"}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "Token invalid/expired"}


def test_a_token_plex_tv_rejects_is_400(anon, plex):
    response = anon.post(REDEEM, json={"plex_token": "not-a-plex-token"})
    assert response.status_code == 400
    assert response.json() == {"plex_token": ["plex.tv did not accept this Plex token."]}
    assert "not-a-plex-token" not in response.text


@pytest.mark.parametrize("how", [500, 503, "hang"])
def test_plex_tv_down_or_slow_is_502_in_bounded_time(anon, plex, short_plex_deadline, how):
    plex.fail("user-token", "user", how)
    response = anon.post(REDEEM, json={"plex_token": "user-token"})
    assert response.status_code == 502
    assert "user-token" not in response.text
    assert response.json()["detail"].startswith("plex.tv ")
    # A hanging plex.tv had not answered yet: the client gave up first.
    assert [r for r in plex.requests if r.get("answered_after_hang")] == []


@pytest.mark.parametrize("where", ["user", "resources", "friends"])
def test_the_timeout_is_one_deadline_even_against_a_drip(anon, plex, short_plex_deadline, where):
    """PLEX_TIMEOUT (1 s here) bounds a login's plex.tv calls together, even
    when plex.tv sends its answer one byte at a time (each read is quick)."""
    token = "owner-token" if where == "friends" else "user-token"
    plex.fail(token, where, "drip")
    response = anon.post(REDEEM, json={"plex_token": "user-token"})
    assert response.status_code == 502
    # The client sets no timeout of its own: only the session's deadline says this.
    assert response.json() == {"detail": "plex.tv did not answer within 1s"}


def test_plex_tv_unreachable_is_502(anon, plex):
    plex.fail("user-token", "resources", 500)
    response = anon.post(REDEEM, json={"plex_token": "user-token"})
    assert response.status_code == 502
    assert response.json() == {"detail": "plex.tv answered 500 to /api/v2/resources"}


@pytest.mark.parametrize(
    ("url", "body", "status", "answer"),
    [
        ("/sources/plex/redeem_token/?slug=nope", {"plex_token": "t"}, 404,
         {"detail": "No PlexSource matches the given query."}),
        ("/sources/plex/redeem_token/", {"plex_token": "t"}, 404,
         {"detail": "No PlexSource matches the given query."}),
        (REDEEM, {}, 400, {"plex_token": ["This field is required."]}),
        (REDEEM, {"plex_token": ""}, 400, {"plex_token": ["This field may not be blank."]}),
        (REDEEM, {"plex_token": None}, 400, {"plex_token": ["This field may not be null."]}),
        (REDEEM, {"plex_token": ["x"]}, 400, {"plex_token": ["Not a valid string."]}),
    ],
)  # fmt: skip
def test_redeem_input_errors(anon, plex, url, body, status, answer):
    response = anon.post(url, json=body)
    assert response.status_code == status
    assert response.json() == answer


@pytest.mark.parametrize("flavour", ["async"])
def test_simultaneous_links_leave_one_connection(server, plex, store):
    """Ten redeem_token_authenticated calls at once, for one user and source: all 204,
    one connection (the losers of the insert race update it instead)."""
    import threading

    import httpx

    from tests.helpers import AUTH

    barrier, statuses = threading.Barrier(10), []  # the `plex` fixture made the source

    def link():
        barrier.wait()
        statuses.append(
            httpx.post(f"{server}/api/v3{LINK}", headers=AUTH, json={"plex_token": "user-token"},
                       timeout=30).status_code
        )  # fmt: skip

    threads = [threading.Thread(target=link) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [204] * 10
    assert count_rows(store, "user_plex_source_connection") == 1


@pytest.mark.parametrize("flavour", ["async"])
def test_a_full_plex_tv_capacity_is_a_prompt_503(database_url, fake_plex, store, flavour):
    """With PLEX_CONCURRENCY=1 and plex.tv holding the first login, a second login is
    refused at once with 503 and Retry-After, and the rest of the API still answers."""
    import threading

    import httpx

    from tests.server import started_server

    fake_plex.add_account("owner-token", id=OWNER_ID)
    fake_plex.add_account("user-token", id=USER_ID, resources=RESOURCES)
    fake_plex.fail("user-token", "user", "hang")
    with started_server(
        store.url, TOKEN, plex_api_url=fake_plex.url, env={"PLEX_CONCURRENCY": "1"}
    ) as (base, _process):
        api = f"{base}/api/v3"
        httpx.post(f"{api}/sources/plex/", headers=AUTH, json={
            "name": "Plex", "slug": "plex", "plex_token": "owner-token",
        }).raise_for_status()  # fmt: skip
        held = threading.Thread(
            target=httpx.post, args=(f"{api}{REDEEM}",),
            kwargs={"json": {"plex_token": "user-token"}, "timeout": 30},
        )  # fmt: skip
        held.start()
        deadline = time.monotonic() + 10
        while not fake_plex.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        refused = httpx.post(f"{api}{REDEEM}", json={"plex_token": "user-token"}, timeout=30)
        listed = httpx.get(f"{api}/sources/plex/", headers=AUTH, timeout=30)
        held.join(timeout=30)
    assert refused.status_code == 503
    assert refused.json() == {"detail": "Too many Plex logins are in progress. Try again shortly."}
    assert refused.headers["Retry-After"] == "1"
    assert listed.status_code == 200
