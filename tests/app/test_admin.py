"""`plex-admin`, the installed command, run as an operator would, against the real
database the server uses."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import count_rows, make_source

COMMAND = str(Path(sys.executable).parent / "plex-admin")
COMMANDS = [
    [],
    ["user"],
    ["user", "create"],
    ["user", "deactivate"],
    ["user", "activate"],
    ["user", "list"],
    ["group"],
    ["group", "create"],
    ["group", "add-user"],
    ["token"],
    ["token", "create"],
    ["token", "revoke"],
    ["permission"],
    ["permission", "grant"],
    ["permission", "revoke"],
    ["permission", "list"],
    ["permission", "codenames"],
]


def admin(store, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    url = store.url.replace("postgresql+psycopg://", "postgresql://")
    return subprocess.run(
        [COMMAND, *args],
        env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=check,
    )


@pytest.mark.parametrize("words", COMMANDS, ids=lambda words: " ".join(words) or "plex-admin")
def test_every_command_has_help(words):
    result = subprocess.run([COMMAND, *words, "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: plex-admin")


# The command does not depend on the app's flavour: one is enough.
@pytest.mark.parametrize("flavour", ["async"])
def test_an_operator_hands_out_narrow_access(store, api):
    make_source(api, slug="family")
    make_source(api, slug="work")

    admin(store, "user", "create", "alice", "--name", "Alice")
    key = admin(store, "token", "create", "alice-laptop", "--user", "alice").stdout.strip()
    admin(store, "permission", "grant", "authentik_sources_plex.view_plexsource",
          "--user", "alice", "--object", "family")  # fmt: skip

    assert len(key) == 60
    alice = {"Authorization": f"Bearer {key}"}
    listed = api.get("/sources/plex/", headers=alice).json()["results"]
    assert [source["slug"] for source in listed] == ["family"]

    assert admin(store, "permission", "list", "--user", "alice").stdout == (
        f"user:alice\tauthentik_sources_plex.view_plexsource\t{listed[0]['pk']}\n"
    )
    assert admin(store, "user", "list").stdout == (
        "akadmin\tgroups=authentik Admins\tsuperuser\nalice\tgroups=-\n"
    )

    admin(store, "permission", "revoke", "authentik_sources_plex.view_plexsource",
          "--user", "alice", "--object", listed[0]["pk"])  # fmt: skip
    assert api.get("/sources/plex/", headers=alice).status_code == 403

    admin(store, "group", "create", "viewers")
    admin(store, "group", "add-user", "viewers", "alice")
    admin(store, "permission", "grant", "authentik_sources_plex.view_plexsource",
          "--group", "viewers")  # fmt: skip
    assert len(api.get("/sources/plex/", headers=alice).json()["results"]) == 2

    admin(store, "user", "deactivate", "alice")
    assert api.get("/sources/plex/", headers=alice).json() == {"detail": "Token invalid/expired"}
    admin(store, "user", "activate", "alice")
    admin(store, "token", "revoke", "alice-laptop")
    assert api.get("/sources/plex/", headers=alice).json() == {"detail": "Token invalid/expired"}
    assert count_rows(store, "token") == 1


MISTAKES = [
    (["user", "deactivate", "ghost"], "no user 'ghost'"),
    (["token", "create", "t", "--user", "ghost"], "no user 'ghost'"),
    (
        ["permission", "grant", "authentik_flows.view_flow", "--user", "akadmin", "--object", "x"],
        "no object 'x' for authentik_flows.view_flow",
    ),
    (["group", "create", "authentik Admins"], "group 'authentik Admins' exists already"),
    (
        ["token", "create", "t", "--user", "akadmin", "--expires", "2030-01-01"],
        "--expires needs a time zone, such as 2027-01-01T00:00:00+00:00",
    ),
]


@pytest.mark.parametrize("flavour", ["async"])
def test_mistakes_are_reported_not_crashed(store):
    for args, message in MISTAKES:
        result = admin(store, *args, check=False)
        assert (result.returncode, result.stderr) == (1, f"plex-admin: {message}\n")
    unknown = admin(store, "permission", "grant", "nope", "--user", "akadmin", check=False)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("plex-admin: unknown permission 'nope'; known: ")


@pytest.mark.parametrize("flavour", ["async"])
def test_token_with_expiry(store, api):
    key = admin(
        store, "token", "create", "short", "--user", "akadmin",
        "--expires", "2000-01-01T00:00:00+00:00",
    ).stdout.strip()  # fmt: skip
    response = api.get("/sources/plex/", headers={"Authorization": f"Bearer {key}"})
    assert response.json() == {"detail": "Token invalid/expired"}
