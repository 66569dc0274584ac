"""No secret in any log line at any level: every path that calls plex.tv, and every path
that makes or sets an API key, run against a server (and `plex-admin`) logging at debug,
leaves neither a Plex token nor an API key in what they print."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from models.store import Store
from tests.fake_plex import OWNER_ID, RESOURCES
from tests.helpers import TOKEN, empty_database
from tests.server import started_server

OWNER_TOKEN = "owner-secret-4f9c1e0b"
VISITOR_TOKEN = "visitor-secret-8a2d7716"
REFUSED_TOKEN = "refused-secret-77b1c3aa"
VISITOR_ID = OWNER_ID + 7
SECRETS = (OWNER_TOKEN, VISITOR_TOKEN, REFUSED_TOKEN, TOKEN)
ADMIN = str(Path(sys.executable).parent / "plex-admin")


def _walk_every_plex_path(base: str) -> None:
    """Friends check, server check, redeem (accepted and refused), authenticated redeem."""
    api = httpx.Client(base_url=f"{base}/api/v3", headers={"Authorization": f"Bearer {TOKEN}"})
    anon = httpx.Client(base_url=f"{base}/api/v3")
    with api, anon:
        flows = [
            api.post("/flows/instances/", json={
                "name": slug, "slug": slug, "title": slug, "designation": designation,
            }).json()["pk"]
            for slug, designation in (("auth", "authentication"), ("enrol", "enrollment"))
        ]  # fmt: skip
        created = api.post("/sources/plex/", json={
            "name": "Plex", "slug": "plex", "plex_token": OWNER_TOKEN,
            "allowed_servers": ["elsewhere"], "allow_friends": True,
            "authentication_flow": flows[0], "enrollment_flow": flows[1],
        })  # fmt: skip
        assert created.status_code == 201, created.text
        # A friend of the owner: the friends check passes, the server check does not.
        redeemed = anon.post("/sources/plex/redeem_token/?slug=plex",
                             json={"plex_token": VISITOR_TOKEN})  # fmt: skip
        assert redeemed.status_code == 200, redeemed.text
        refused = anon.post("/sources/plex/redeem_token/?slug=plex",
                            json={"plex_token": REFUSED_TOKEN})  # fmt: skip
        assert refused.status_code == 400, refused.text
        # Only the server check can let this one in.
        api.patch("/sources/plex/plex/", json={"allowed_servers": [], "allow_friends": False})
        linked = api.post("/sources/plex/redeem_token_authenticated/?slug=plex",
                          json={"plex_token": VISITOR_TOKEN})  # fmt: skip
        assert linked.status_code == 204, linked.text
        assert api.get("/sources/plex/plex/").json()["plex_token"] == OWNER_TOKEN


CHOSEN_KEY = "chosen-secret-5e1d9a03"


def _walk_every_token_path(base: str) -> str:
    """A token made (its key answered once), re-keyed with a chosen key, used, refused a
    view of its key, and a set_key refused for a key that is taken; the key made."""
    api = httpx.Client(base_url=f"{base}/api/v3", headers={"Authorization": f"Bearer {TOKEN}"})
    with api:
        user = api.post("/core/users/", json={"username": "jo", "name": "Jo"}).json()
        made = api.post("/core/tokens/", json={"identifier": "jo-key", "user": user["pk"]})
        assert made.status_code == 201, made.text
        key = made.json()["key"]
        me = api.get("/core/users/me/", headers={"Authorization": f"Bearer {key}"})
        assert me.json()["user"]["username"] == "jo"
        chosen = api.post("/core/tokens/jo-key/set_key/", json={"key": CHOSEN_KEY})
        assert chosen.status_code == 204
        me = api.get("/core/users/me/", headers={"Authorization": f"Bearer {CHOSEN_KEY}"})
        assert me.json()["user"]["username"] == "jo"
        assert api.get("/core/tokens/jo-key/view_key/").status_code == 400
        taken = api.post("/core/tokens/jo-key/set_key/", json={"key": TOKEN})
        assert taken.status_code == 400
        return key


@pytest.mark.parametrize("flavour", ["async", "flask"])
def test_no_secret_in_a_debug_log(tmp_path, database_url, fake_plex, flavour):
    fake_plex.add_account(OWNER_TOKEN, id=OWNER_ID, friends=[{"id": VISITOR_ID}])
    fake_plex.add_account(VISITOR_TOKEN, id=VISITOR_ID, resources=RESOURCES)
    store = Store(database_url)
    empty_database(store)
    store.close()
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    log_path = tmp_path / "server.log"
    with (
        log_path.open("w") as log,
        started_server(
            url, TOKEN, flavour, log=log, log_level="debug", plex_api_url=fake_plex.url
        ) as (base, _process),
    ):
        _walk_every_plex_path(base)
        made_key = _walk_every_token_path(base)
    # The token health check, accepted once and refused once.
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "debug",
           "PLEX_API_URL": fake_plex.url}  # fmt: skip
    checks = [subprocess.run([ADMIN, "plex", "check-tokens"], env=env, capture_output=True,
                             text=True)]  # fmt: skip
    fake_plex.fail(OWNER_TOKEN, "user", 401)
    checks.append(subprocess.run([ADMIN, "plex", "check-tokens"], env=env,
                                 capture_output=True, text=True))  # fmt: skip
    assert [check.returncode for check in checks] == [0, 1]

    printed = log_path.read_text() + "".join(c.stdout + c.stderr for c in checks)
    # The debug log did record the calls to plex.tv, from the server and from plex-admin.
    assert printed.count("HTTP Request: GET") >= 8
    assert "DEBUG" in printed
    assert fake_plex.requests and all(r["query"] == {} for r in fake_plex.requests)
    secrets = (*SECRETS, made_key, CHOSEN_KEY)
    assert [secret for secret in secrets if secret in printed] == []
