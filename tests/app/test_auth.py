"""Bearer tokens and the bootstrap superuser."""

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update

from models.identity import Token, User
from models.store import BOOTSTRAP_TOKEN_IDENTIFIER
from tests.helpers import TOKEN, count_rows
from tests.server import running_server


def test_bootstrap_is_idempotent(store, api):
    store.ensure_bootstrap_token(TOKEN)
    store.ensure_bootstrap_token(TOKEN)
    assert count_rows(store, "user") == 1
    assert count_rows(store, "group") == 1
    assert count_rows(store, "token") == 1
    assert api.get("/sources/plex/").status_code == 200
    identity = store.identity_for_token(TOKEN)
    assert (identity.username, identity.is_superuser) == ("akadmin", True)


def test_bootstrap_with_a_new_key_replaces_the_old_one(store, anon):
    store.ensure_bootstrap_token("rotated-key")
    old = anon.get("/sources/plex/", headers={"Authorization": f"Bearer {TOKEN}"})
    new = anon.get("/sources/plex/", headers={"Authorization": "Bearer rotated-key"})
    assert old.status_code == 403
    assert old.json() == {"detail": "Token invalid/expired"}
    assert new.status_code == 200


def test_token_key_is_not_stored_in_clear(store):
    with store.engine.connect() as connection:
        rows = connection.execute(select(Token.__table__)).mappings().all()
    assert len(rows) == 1
    assert TOKEN not in str(dict(rows[0]))
    assert rows[0]["key_digest"] == Token.digest(TOKEN)


def test_inactive_users_token_is_rejected(store, api):
    with store.engine.begin() as connection:
        connection.execute(update(User).values(is_active=False))
    response = api.get("/sources/plex/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Token invalid/expired"}


def test_expired_token_is_rejected(store, api):
    with store.engine.begin() as connection:
        connection.execute(
            update(Token)
            .where(Token.identifier == BOOTSTRAP_TOKEN_IDENTIFIER)
            .values(expiring=True, expires=datetime.now(UTC) - timedelta(seconds=1))
        )
    response = api.get("/sources/plex/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Token invalid/expired"}


def test_token_expiring_later_is_accepted(store, api):
    with store.engine.begin() as connection:
        connection.execute(
            update(Token).values(expiring=True, expires=datetime.now(UTC) + timedelta(hours=1))
        )
    assert api.get("/sources/plex/").status_code == 200


def test_keys_never_reach_the_log(tmp_path):
    """At the most verbose level, neither a valid nor a wrong key is written out."""
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    log = tmp_path / "server.log"
    with log.open("w") as output, running_server(url, TOKEN, log=output, log_level="debug") as base:
        for key in (TOKEN, "wrong-key-that-must-not-be-logged"):
            headers = {"Authorization": f"Bearer {key}"}
            httpx.get(f"{base}/api/v3/sources/plex/", headers=headers)
            httpx.post(f"{base}/api/v3/sources/plex/", headers=headers, json={"name": ""})
    text = log.read_text()
    assert "GET sources_plex_list 200" in text  # the log was written (the request line)
    assert TOKEN not in text
    assert "wrong-key-that-must-not-be-logged" not in text
