"""`plex-admin`, the installed command, run as an operator would, against the real
database the server uses."""

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from models.identity import Token
from tests.helpers import count_rows, make_flow, make_mapping, make_source

COMMAND = str(Path(sys.executable).parent / "plex-admin")
VIEW = "authentik_sources_plex.view_plexsource"
COMMANDS = [
    [],
    ["user"],
    ["user", "create"],
    ["user", "deactivate"],
    ["user", "activate"],
    ["user", "delete"],
    ["user", "list"],
    ["group"],
    ["group", "create"],
    ["group", "add-user"],
    ["group", "remove-user"],
    ["group", "list"],
    ["token"],
    ["token", "create"],
    ["token", "list"],
    ["token", "revoke"],
    ["permission"],
    ["permission", "grant"],
    ["permission", "revoke"],
    ["permission", "list"],
    ["permission", "codenames"],
    ["plex"],
    ["plex", "check-tokens"],
    ["events"],
    ["events", "list"],
    ["backup"],
]
# Every listing and every create command takes --json.
JSON_COMMANDS = [
    ["user", "create"],
    ["user", "list"],
    ["group", "create"],
    ["group", "list"],
    ["token", "create"],
    ["token", "list"],
    ["permission", "list"],
    ["permission", "codenames"],
    ["plex", "check-tokens"],
    ["events", "list"],
]
MIGRATE = "plex-api migrate"


def run_admin(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [COMMAND, *args],
        env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )


def url_of(store) -> str:
    return store.url.replace("postgresql+psycopg://", "postgresql://")


def admin(store, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = run_admin(url_of(store), *args)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def says(store, *args: str) -> str:
    """What a command that changes something confirms: exactly one line on stdout."""
    result = admin(store, *args)
    assert result.stdout.count("\n") == 1 and result.stderr == "", result
    return result.stdout.removesuffix("\n")


def listed(store, *args: str):
    return json.loads(admin(store, *args, "--json").stdout)


def one_problem(result: subprocess.CompletedProcess, status: int = 1) -> str:
    """The one line a refused command prints on stderr, without its `plex-admin: `."""
    assert result.returncode == status, result
    assert result.stdout == ""
    line = result.stderr.removesuffix("\n")
    assert "\n" not in line and line.startswith("plex-admin: "), result.stderr
    return line.removeprefix("plex-admin: ")


@pytest.mark.parametrize("words", COMMANDS, ids=lambda words: " ".join(words) or "plex-admin")
def test_every_command_has_help(words):
    result = subprocess.run([COMMAND, *words, "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: plex-admin")


@pytest.mark.parametrize("words", JSON_COMMANDS, ids=" ".join)
def test_listings_and_creates_document_json(words):
    result = subprocess.run([COMMAND, *words, "--help"], capture_output=True, text=True)
    assert "--json" in result.stdout and "JSON" in result.stdout


# The command does not depend on the app's flavour: one is enough.
@pytest.mark.parametrize("flavour", ["async"])
def test_an_operator_hands_out_narrow_access(store, api):
    family = make_source(api, slug="family")
    make_source(api, slug="work")

    assert says(store, "user", "create", "alice", "--name", "Alice") == "created user alice"
    created = admin(store, "token", "create", "alice-laptop", "--user", "alice")
    key = created.stdout.strip()
    assert created.stderr == (
        "created token alice-laptop for user alice (expires never); its key is printed once\n"
    )
    assert says(store, "permission", "grant", VIEW, "--user", "alice", "--object", "family") == (
        f"granted {VIEW} to user alice on family"
    )
    assert says(store, "permission", "grant", VIEW, "--user", "alice", "--object", "family") == (
        f"user alice holds {VIEW} on family already"
    )

    assert len(key) == 60
    alice = {"Authorization": f"Bearer {key}"}
    listing = api.get("/sources/plex/", headers=alice).json()["results"]
    assert [source["slug"] for source in listing] == ["family"]

    assert admin(store, "permission", "list", "--user", "alice").stdout == (
        f"user:alice\t{VIEW}\tfamily ({family['pk']})\n"
    )
    assert admin(store, "user", "list").stdout == (
        "akadmin\tgroups=authentik Admins\tsuperuser\nalice\tgroups=-\n"
    )

    assert says(store, "permission", "revoke", VIEW, "--user", "alice",
                "--object", family["pk"]) == (
        f"revoked {VIEW} from user alice on {family['pk']}"
    )  # fmt: skip
    assert api.get("/sources/plex/", headers=alice).status_code == 403

    assert says(store, "group", "create", "viewers") == "created group viewers"
    assert says(store, "group", "add-user", "viewers", "alice") == (
        "added user alice to group viewers"
    )
    assert says(store, "group", "add-user", "viewers", "alice") == (
        "user alice is in group viewers already"
    )
    assert says(store, "permission", "grant", VIEW, "--group", "viewers") == (
        f"granted {VIEW} to group viewers on every object"
    )
    assert len(api.get("/sources/plex/", headers=alice).json()["results"]) == 2

    assert says(store, "user", "deactivate", "alice") == "deactivated user alice"
    assert api.get("/sources/plex/", headers=alice).json() == {"detail": "Token invalid/expired"}
    assert says(store, "user", "activate", "alice") == "activated user alice"
    assert says(store, "token", "revoke", "alice-laptop") == "revoked token alice-laptop"
    assert api.get("/sources/plex/", headers=alice).json() == {"detail": "Token invalid/expired"}
    assert count_rows(store, "token") == 1


@pytest.mark.parametrize("flavour", ["async"])
def test_json_for_scripts(store):
    assert listed(store, "user", "create", "alice", "--email", "a@example.org") == {
        "username": "alice", "name": "", "email": "a@example.org", "active": True,
        "superuser": False, "groups": [],
    }  # fmt: skip
    assert listed(store, "group", "create", "admins", "--superuser") == {
        "name": "admins", "superuser": True, "members": [],
    }  # fmt: skip
    admin(store, "group", "add-user", "admins", "alice")
    created = admin(store, "token", "create", "ci", "--user", "alice", "--json",
                    "--expires", "2030-01-01T01:00:00+01:00")  # fmt: skip
    token = json.loads(created.stdout)
    assert {name: value for name, value in token.items() if name != "key"} == {
        "identifier": "ci", "user": "alice", "expires": "2030-01-01T00:00:00+00:00",
    }  # fmt: skip
    assert store.identity_for_token(token["key"]).username == "alice"

    assert listed(store, "user", "list") == [
        {"username": "akadmin", "name": "authentik Default Admin", "email": "",
         "active": True, "superuser": True, "groups": ["authentik Admins"]},
        {"username": "alice", "name": "", "email": "a@example.org", "active": True,
         "superuser": True, "groups": ["admins"]},
    ]  # fmt: skip
    assert listed(store, "group", "list") == [
        {"name": "admins", "superuser": True, "members": ["alice"]},
        {"name": "authentik Admins", "superuser": True, "members": ["akadmin"]},
    ]
    assert listed(store, "token", "list", "--user", "alice") == [
        {"identifier": "ci", "user": "alice", "expiring": True,
         "expires": "2030-01-01T00:00:00+00:00"},
    ]  # fmt: skip
    admin(store, "permission", "grant", "authentik_flows.add_flow", "--group", "admins")
    assert listed(store, "permission", "list") == [
        {"permission": "authentik_flows.add_flow", "holder": "group:admins", "object": "*",
         "object_pk": None},
    ]  # fmt: skip
    codenames = listed(store, "permission", "codenames")
    assert codenames[0] == {
        "codename": VIEW, "action": "view", "model": "authentik_sources_plex.plexsource",
    }  # fmt: skip
    assert [c["codename"] for c in codenames] == (
        admin(store, "permission", "codenames").stdout.split()
    )
    assert listed(store, "events", "list") == []
    assert listed(store, "plex", "check-tokens") == []  # no sources to check


@pytest.mark.parametrize("flavour", ["async"])
def test_token_list_never_shows_a_key(store):
    admin(store, "user", "create", "alice")
    key = admin(store, "token", "create", "alice-laptop", "--user", "alice").stdout.strip()
    old = admin(store, "token", "create", "old", "--user", "alice",
                "--expires", "2000-01-01T00:00:00+00:00").stdout.strip()  # fmt: skip

    text = admin(store, "token", "list").stdout
    assert text == (
        "alice-laptop\tuser=alice\texpires=never\n"
        "authentik-bootstrap-token\tuser=akadmin\texpires=never\n"
        "old\tuser=alice\texpires=2000-01-01T00:00:00+00:00 (expired)\n"
    )
    printed = text + admin(store, "token", "list", "--json").stdout
    for secret in (key, old, Token.digest(key), Token.digest(old)):
        assert secret not in printed
    assert admin(store, "token", "list", "--user", "akadmin").stdout == (
        "authentik-bootstrap-token\tuser=akadmin\texpires=never\n"
    )


@pytest.mark.parametrize("flavour", ["async"])
def test_groups_are_listed_and_members_removed(store):
    admin(store, "user", "create", "alice")
    admin(store, "group", "create", "team")
    admin(store, "group", "add-user", "team", "alice")
    admin(store, "group", "add-user", "authentik Admins", "alice")
    assert admin(store, "group", "list").stdout == (
        "authentik Admins\tmembers=akadmin,alice\tsuperuser\nteam\tmembers=alice\n"
    )
    assert says(store, "group", "remove-user", "authentik Admins", "alice") == (
        "removed user alice from group authentik Admins"
    )
    assert admin(store, "user", "list").stdout == (
        "akadmin\tgroups=authentik Admins\tsuperuser\nalice\tgroups=team\n"
    )
    refused = admin(store, "group", "remove-user", "authentik Admins", "alice", check=False)
    assert one_problem(refused) == "user 'alice' is not in group 'authentik Admins'"


@pytest.mark.parametrize("flavour", ["async"])
def test_a_deleted_users_token_stops_working(store, api):
    source = make_source(api, slug="family")
    admin(store, "user", "create", "alice")
    admin(store, "group", "create", "team")
    admin(store, "group", "add-user", "team", "alice")
    key = admin(store, "token", "create", "alice-laptop", "--user", "alice").stdout.strip()
    admin(store, "permission", "grant", VIEW, "--user", "alice", "--object", "family")
    alice = store.identity_for_token(key)
    store.link_plex_account(alice.user_id, uuid.UUID(source["pk"]), "plex-1", "plex-token")
    assert api.get("/sources/plex/", headers={"Authorization": f"Bearer {key}"}).status_code == 200

    assert says(store, "user", "delete", "alice") == (
        "deleted user alice (1 token, 1 grant, 1 Plex connection)"
    )
    assert store.identity_for_token(key) is None
    response = api.get("/sources/plex/", headers={"Authorization": f"Bearer {key}"})
    assert response.json() == {"detail": "Token invalid/expired"}
    # Its managed role went with it, and the permissions on it.
    for table in ("role", "role_permission", "user_plex_source_connection"):
        assert count_rows(store, table) == 0
    assert admin(store, "group", "list").stdout == (
        "authentik Admins\tmembers=akadmin\tsuperuser\nteam\tmembers=-\n"
    )
    assert one_problem(admin(store, "user", "delete", "alice", check=False)) == ("no user 'alice'")


@pytest.mark.parametrize("flavour", ["async"])
def test_permission_list_names_objects_as_granted(store, api):
    source = make_source(api, slug="home-plex")
    flow = make_flow(api, slug="plex-login")
    mapping = make_mapping(api, name="Plex email")
    admin(store, "user", "create", "alice")
    for codename, target in (
        (VIEW, source["pk"]),  # by primary key: listed by slug all the same
        ("authentik_flows.view_flow", "plex-login"),
        ("authentik_sources_plex.view_plexsourcepropertymapping", mapping["pk"]),
        ("authentik_flows.add_flow", None),
    ):
        more = [] if target is None else ["--object", target]
        admin(store, "permission", "grant", codename, "--user", "alice", *more)
    assert admin(store, "permission", "list").stdout == (
        f"user:alice\tauthentik_flows.add_flow\t*\n"
        f"user:alice\tauthentik_flows.view_flow\tplex-login ({flow['pk']})\n"
        f"user:alice\t{VIEW}\thome-plex ({source['pk']})\n"
        f"user:alice\tauthentik_sources_plex.view_plexsourcepropertymapping\t"
        f"Plex email ({mapping['pk']})\n"
    )
    assert [(g["object"], g["object_pk"]) for g in listed(store, "permission", "list")] == [
        ("*", None),
        ("plex-login", flow["pk"]),
        ("home-plex", source["pk"]),
        ("Plex email", mapping["pk"]),
    ]


MISTAKES = [
    (["user", "deactivate", "ghost"], "no user 'ghost'"),
    (["user", "delete", "ghost"], "no user 'ghost'"),
    (["token", "create", "t", "--user", "ghost"], "no user 'ghost'"),
    (["token", "list", "--user", "ghost"], "no user 'ghost'"),
    (["token", "revoke", "ghost"], "no token 'ghost'"),
    (
        ["permission", "grant", "authentik_flows.view_flow", "--user", "akadmin", "--object", "x"],
        "no object 'x' for authentik_flows.view_flow",
    ),
    (["permission", "revoke", VIEW, "--user", "akadmin"], "no such grant"),
    (["group", "create", "authentik Admins"], "group 'authentik Admins' exists already"),
    (["group", "add-user", "ghosts", "akadmin"], "no group 'ghosts'"),
    (["group", "remove-user", "ghosts", "akadmin"], "no group 'ghosts'"),
    (
        ["token", "create", "t", "--user", "akadmin", "--expires", "2030-01-01"],
        "--expires needs a time zone, such as 2027-01-01T00:00:00+00:00",
    ),
]


@pytest.mark.parametrize("flavour", ["async"])
def test_mistakes_are_reported_not_crashed(store):
    for args, message in MISTAKES:
        assert one_problem(admin(store, *args, check=False)) == message
    unknown = admin(store, "permission", "grant", "nope", "--user", "akadmin", check=False)
    assert one_problem(unknown).startswith("unknown permission 'nope'; known: ")


def test_a_bad_argument_is_argparses_usage_error(tmp_path):
    result = run_admin(f"sqlite:///{tmp_path / 'db.sqlite3'}", "token", "create", "t",
                       "--user", "akadmin", "--expires", "soon")  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "plex-admin token create: error: argument --expires: invalid fromisoformat value: 'soon'"
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("flavour", ["async"])
def test_token_with_expiry(store, api):
    key = admin(
        store, "token", "create", "short", "--user", "akadmin",
        "--expires", "2000-01-01T00:00:00+00:00",
    ).stdout.strip()  # fmt: skip
    response = api.get("/sources/plex/", headers={"Authorization": f"Bearer {key}"})
    assert response.json() == {"detail": "Token invalid/expired"}


# -- the database missing, unmigrated, unreachable ----------------------------------------


def test_a_missing_database_file_is_not_created(tmp_path):
    path = tmp_path / "plex-api.sqlite3"
    url = f"sqlite:///{path}"
    for args in (["user", "list"], ["user", "create", "alice"], ["backup", str(tmp_path / "c")]):
        assert one_problem(run_admin(url, *args)) == (
            f"there is no database file {path} (DATABASE_URL={url}); create it with: {MIGRATE}"
        )
    assert sorted(tmp_path.iterdir()) == []  # neither the database nor its -wal, -shm
    # Listing the permissions there are needs no database.
    assert run_admin(url, "permission", "codenames").stdout.startswith(VIEW + "\n")
    assert not path.exists()


def test_an_unmigrated_database_says_to_migrate(tmp_path):
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE something_else (x)")
    connection.close()
    for path in (empty, other):
        url = f"sqlite:///{path}"
        for args in (["user", "list"], ["token", "create", "t", "--user", "akadmin"]):
            assert one_problem(run_admin(url, *args)) == (
                f"the database at {url} has no tables; run: {MIGRATE}"
            )
    assert empty.stat().st_size == 0  # not even written to


def test_an_unreachable_database_is_one_line_without_its_password():
    url = "postgresql://plex:s3cret-pw@127.0.0.1:1/plex"
    problem = one_problem(run_admin(url, "user", "list"))
    assert problem.startswith("database error at postgresql://plex:***@127.0.0.1:1/plex: ")
    assert "s3cret-pw" not in problem


def test_a_url_that_is_no_database_url_is_one_line():
    assert one_problem(run_admin("not a url", "user", "list")) == (
        "DATABASE_URL is not a database URL, such as sqlite:///plex-api.sqlite3 or "
        "postgresql://user:password@host/name"
    )


# -- a reader that goes away ----------------------------------------------------------------


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`plex-admin permission codenames | head -1`, with `head` gone before the command
    writes (the order that fails): no traceback, no complaint, SIGPIPE's exit status."""
    reading, writing = os.pipe()
    os.close(reading)
    try:
        result = subprocess.run(
            [COMMAND, "permission", "codenames"],
            env={"DATABASE_URL": f"sqlite:///{tmp_path / 'db'}", "PATH": "/usr/bin:/bin"},
            stdout=writing,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(writing)
    assert (result.returncode, result.stderr) == (141, "")


@pytest.mark.parametrize("flavour", ["async"])
def test_a_pipe_closed_after_one_line_ends_quietly(store):
    """More output than a pipe holds, and a reader that takes one line and leaves: the
    command is still writing when the pipe closes."""
    store.record_event("configuration_error", "first", None)
    store.record_event("configuration_error", "x" * 300_000, None)
    process = subprocess.Popen(
        [COMMAND, "events", "list"],
        env={"DATABASE_URL": url_of(store), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=30) == 141
    assert first.endswith(b"\tconfiguration_error\tfirst\n")
    assert "Traceback" not in stderr and stderr == ""


# -- backup ---------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["async"])
def test_backup_while_the_server_writes(store, tmp_path):
    copy = tmp_path / "copy.sqlite3"
    if not store.is_sqlite:
        problem = one_problem(admin(store, "backup", str(copy), check=False))
        assert "pg_dump" in problem
        assert not copy.exists()
        return
    admin(store, "user", "create", "alice")
    admin(store, "token", "create", "alice-laptop", "--user", "alice")
    database = make_url(store.url).database
    # A writer in the middle of a transaction: the copy neither waits for it nor holds
    # its half-written row.
    writer = sqlite3.connect(database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            'INSERT INTO "user" (username, name, email, is_active, path, uuid, type, '
            "attributes, date_joined, last_updated, password_change_date) "
            "VALUES ('half', '', '', 1, 'users', 'a1b2c3', 'internal', '{}', "
            "'2026-12-01', '2026-12-01', '2026-12-01')"
        )
        assert says(store, "backup", str(copy)) == f"copied the database to {copy}"
        writer.execute("ROLLBACK")
    finally:
        writer.close()

    def rows(path) -> list:
        connection = sqlite3.connect(path)
        try:
            return [
                connection.execute(query).fetchall()
                for query in (
                    'SELECT id, username, is_active FROM "user" ORDER BY id',
                    "SELECT identifier, key_digest, user_id FROM token ORDER BY identifier",
                    "SELECT * FROM user_group ORDER BY user_id",
                )
            ]
        finally:
            connection.close()

    assert rows(copy) == rows(database)
    assert [username for _, username, _ in rows(copy)[0]] == ["akadmin", "alice"]

    before = copy.read_bytes()
    refused = admin(store, "backup", str(copy), check=False)
    assert one_problem(refused) == f"{copy} exists already; back up to a new file"
    assert copy.read_bytes() == before


def test_users_and_tokens_it_makes_are_the_apis(api, anon, store):
    """plex-admin makes, deactivates and revokes through the operations the API runs:
    what it makes has every field the API serves, and the API sees each change."""
    admin(store, "user", "create", "alice", "--name", "Alice")
    key = admin(store, "token", "create", "alice-laptop", "--user", "alice").stdout.strip()
    (alice,) = api.get("/core/users/?username=alice").json()["results"]
    assert (alice["name"], alice["type"], alice["path"]) == ("Alice", "internal", "users")
    assert alice["uid"] and alice["uuid"] and alice["date_joined"]
    token = api.get("/core/tokens/alice-laptop/").json()
    assert (token["user"], token["expiring"], token["expires"]) == (alice["pk"], False, None)
    headers = {"Authorization": f"Bearer {key}"}
    assert anon.get("/core/users/me/", headers=headers).json()["user"]["username"] == "alice"

    admin(store, "user", "deactivate", "alice")
    assert api.get(f"/core/users/{alice['pk']}/").json()["is_active"] is False
    admin(store, "token", "revoke", "alice-laptop")
    assert api.get("/core/tokens/alice-laptop/").status_code == 404
