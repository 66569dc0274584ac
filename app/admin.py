"""`plex-admin`: manage users, groups, API tokens and permissions in the database that
DATABASE_URL names, and back it up. Every command has --help. A command that changes
something confirms it in one line on stdout (`token create` prints only the key there,
and confirms on stderr). Listings and create commands take --json: a listing then prints
a JSON array of objects, a create command one JSON object, and nothing else on stdout.
A problem is one line on stderr, starting `plex-admin: `, and exit status 1 (2 for a
command line that cannot be read); a reader that stops reading early (`| head -1`) ends
the command quietly with exit status 141."""

import argparse
import json
import logging
import os
import re
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from app.config import ConfigError, Settings
from app.health import check_plex_tokens
from app.logs import configure_logging
from models.accounts import CODENAMES, AccountError
from models.store import Store

logger = logging.getLogger("app.admin")

MIGRATE = "plex-api migrate"
INTERRUPTED = 130  # 128 + SIGINT
PIPE_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for a command a closed pipe ended
# Database errors that mean the schema is missing or old.
UNMIGRATED = re.compile(r"no such (table|column)|(relation|column) \S+ does not exist")


class Failure(Exception):
    """Ends the command: this line on stderr, after `plex-admin: `, and exit status 1."""


def _json_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--json", action="store_true", help=f"print {what}, and nothing else on stdout"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plex-admin", description=__doc__)
    areas = parser.add_subparsers(dest="area", required=True, metavar="AREA")
    listing_json = "a JSON array of objects"

    user = areas.add_parser("user", help="create, deactivate, delete and list users")
    users = user.add_subparsers(dest="command", required=True, metavar="COMMAND")
    create = users.add_parser("create", help="create a user (no permissions yet)")
    create.add_argument("username")
    create.add_argument("--name", default="", help="display name")
    create.add_argument("--email", default="")
    _json_option(create, "the new user as a JSON object")
    for name, text in (
        ("deactivate", "deactivate a user: its tokens stop working"),
        ("activate", "activate a user again"),
        ("delete", "delete a user, with its tokens, grants and Plex connections"),
    ):
        users.add_parser(name, help=text).add_argument("username")
    _json_option(
        users.add_parser("list", help="list users, their groups and superuser status"),
        listing_json,
    )

    group = areas.add_parser("group", help="create and list groups, add and remove members")
    groups = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    create = groups.add_parser("create", help="create a group")
    create.add_argument("name")
    create.add_argument("--superuser", action="store_true", help="its members are superusers")
    _json_option(create, "the new group as a JSON object")
    for name, text in (
        ("add-user", "add a user to a group"),
        ("remove-user", "remove a user from a group"),
    ):
        command = groups.add_parser(name, help=text)
        command.add_argument("group")
        command.add_argument("username")
    _json_option(
        groups.add_parser("list", help="list groups, their superuser status and members"),
        listing_json,
    )

    token = areas.add_parser("token", help="create, list and revoke API tokens")
    tokens = token.add_subparsers(dest="command", required=True, metavar="COMMAND")
    create = tokens.add_parser("create", help="create an API token and print its key, once")
    create.add_argument("identifier", help="a unique name for the token")
    create.add_argument("--user", required=True, help="the user the token acts as")
    create.add_argument(
        "--expires",
        type=datetime.fromisoformat,
        help="expiry, ISO 8601 with a time zone (default: never)",
    )
    _json_option(create, 'the JSON object {"identifier", "user", "expires", "key"}')
    listing = tokens.add_parser("list", help="list API tokens (never their keys)")
    listing.add_argument("--user", help="only this user's tokens")
    _json_option(listing, listing_json)
    tokens.add_parser("revoke", help="delete an API token").add_argument("identifier")

    permission = areas.add_parser("permission", help="grant, revoke and list permissions")
    permissions = permission.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (("grant", "grant a permission"), ("revoke", "revoke a permission")):
        command = permissions.add_parser(name, help=text)
        command.add_argument("codename", help="e.g. authentik_sources_plex.view_plexsource")
        holder = command.add_mutually_exclusive_group(required=True)
        holder.add_argument("--user")
        holder.add_argument("--group")
        command.add_argument(
            "--object", help="one object, by slug or primary key (default: all objects)"
        )
    listing = permissions.add_parser(
        "list",
        help="list who can do what, on which object (slug or name, and primary key; "
        "* for all objects)",
    )
    listing.add_argument("--user", help="only what reaches this user (directly or by group)")
    _json_option(listing, listing_json)
    _json_option(
        permissions.add_parser("codenames", help="list the permissions there are"),
        listing_json,
    )

    plex = areas.add_parser("plex", help="check the sources' Plex tokens with plex.tv")
    plexes = plex.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = plexes.add_parser(
        "check-tokens",
        help="ask plex.tv about every source's token; record a configuration_error event "
        "for each it refuses (exit status 1 if any)",
    )
    _json_option(check, listing_json)

    event = areas.add_parser("events", help="list recorded events, or delete expired ones")
    events = event.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = events.add_parser("list", help="list events, oldest first")
    listing.add_argument("--action", help="only events of this action, e.g. configuration_error")
    _json_option(listing, listing_json)
    events.add_parser(
        "cleanup",
        help="delete the events older than their retention (EVENT_RETENTION_DAYS when they "
        "were recorded); run it from cron",
    )

    backup = areas.add_parser(
        "backup",
        help="copy a SQLite database, consistently, while the server runs "
        "(PostgreSQL: use pg_dump)",
        description="Write a consistent copy of the SQLite database to FILE, which must "
        "not exist yet. The server may keep running and writing meanwhile. For PostgreSQL, "
        "use pg_dump and pg_restore instead.",
    )
    backup.add_argument("file", metavar="FILE", help="the new file to write the copy to")
    backup.set_defaults(command=None)
    return parser


def run(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    """Carry out the command; its exit status."""
    command = (args.area, args.command)
    as_json = getattr(args, "json", False)
    if command == ("user", "create"):
        user = store.create_user(args.username, name=args.name, email=args.email)
        _confirm(as_json, user, f"created user {args.username}")
    elif command in (("user", "deactivate"), ("user", "activate")):
        store.set_user_active(args.username, args.command == "activate")
        print(f"{args.command}d user {args.username}")
    elif command == ("user", "delete"):
        gone = store.delete_user(args.username)
        counted = ", ".join(
            _count(gone[name], noun)
            for name, noun in (
                ("tokens", "token"),
                ("grants", "grant"),
                ("connections", "Plex connection"),
            )
        )
        print(f"deleted user {args.username} ({counted})")
    elif command == ("user", "list"):
        _listing(as_json, store.list_users(), _user_line)
    elif command == ("group", "create"):
        group = store.create_group(args.name, is_superuser=args.superuser)
        kind = "superuser group" if args.superuser else "group"
        _confirm(as_json, group, f"created {kind} {args.name}")
    elif command == ("group", "add-user"):
        if store.add_to_group(args.username, args.group):
            print(f"added user {args.username} to group {args.group}")
        else:
            print(f"user {args.username} is in group {args.group} already")
    elif command == ("group", "remove-user"):
        store.remove_from_group(args.username, args.group)
        print(f"removed user {args.username} from group {args.group}")
    elif command == ("group", "list"):
        _listing(as_json, store.list_groups(), _group_line)
    elif command == ("token", "create"):
        if args.expires is not None and args.expires.tzinfo is None:
            raise AccountError("--expires needs a time zone, such as 2027-01-01T00:00:00+00:00")
        key = store.create_token(args.identifier, args.user, expires=args.expires)
        expires = None if args.expires is None else args.expires.astimezone(UTC)
        if as_json:
            _print_json(
                {"identifier": args.identifier, "user": args.user, "expires": expires, "key": key}
            )
        else:
            print(key)
        when = "never" if expires is None else expires.isoformat()
        print(
            f"created token {args.identifier} for user {args.user} (expires {when}); "
            "its key is printed once",
            file=sys.stderr,
        )
    elif command == ("token", "list"):
        _listing(as_json, store.list_tokens(user=args.user), _token_line)
    elif command == ("token", "revoke"):
        store.revoke_token(args.identifier)
        print(f"revoked token {args.identifier}")
    elif command in (("permission", "grant"), ("permission", "revoke")):
        holder = f"user {args.user}" if args.user is not None else f"group {args.group}"
        where = "every object" if args.object is None else args.object
        if args.command == "revoke":
            store.revoke(args.codename, user=args.user, group=args.group, obj=args.object)
            print(f"revoked {args.codename} from {holder} on {where}")
        elif store.grant(args.codename, user=args.user, group=args.group, obj=args.object):
            print(f"granted {args.codename} to {holder} on {where}")
        else:
            print(f"{holder} holds {args.codename} on {where} already")
    elif command == ("permission", "list"):
        _listing(as_json, store.list_grants(user=args.user), _grant_line)
    elif command == ("permission", "codenames"):
        _codenames(as_json)
    elif command == ("plex", "check-tokens"):
        results = check_plex_tokens(store, settings)
        checked = [
            {"slug": slug, "valid": error is None, "error": error} for slug, error in results
        ]
        _listing(as_json, checked, _check_line)
        return 1 if any(error is not None for _, error in results) else 0
    elif command == ("events", "list"):
        _listing(as_json, store.list_events(args.action), _event_line)
    elif command == ("events", "cleanup"):
        print(f"deleted {store.cleanup_events()} expired events")
    elif command == ("backup", None):
        store.backup(args.file)
        print(f"copied the database to {args.file}")
    return 0


# -- output --------------------------------------------------------------------------


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _print_json(value) -> None:
    print(json.dumps(value, default=_json_value))


def _confirm(as_json: bool, created: dict, line: str) -> None:
    """What a create command prints: the object as JSON, or the line saying it was done."""
    if as_json:
        _print_json(created)
    else:
        print(line)


def _listing(as_json: bool, rows: list[dict], line) -> None:
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        print(line(row))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _user_line(user: dict) -> str:
    flags = [] if user["active"] else ["inactive"]
    flags += ["superuser"] if user["superuser"] else []
    groups = ",".join(user["groups"]) or "-"
    return f"{user['username']}\tgroups={groups}\t{' '.join(flags)}".rstrip()


def _group_line(group: dict) -> str:
    members = ",".join(group["members"]) or "-"
    flag = "superuser" if group["superuser"] else ""
    return f"{group['name']}\tmembers={members}\t{flag}".rstrip()


def _token_line(token: dict) -> str:
    expires = token["expires"]
    if not token["expiring"] or expires is None:
        when = "never"
    else:
        when = expires.isoformat() + (" (expired)" if expires <= datetime.now(UTC) else "")
    return f"{token['identifier']}\tuser={token['user']}\texpires={when}"


def _grant_line(grant: dict) -> str:
    shown = grant["object"]
    if grant["object_pk"] is not None and shown != grant["object_pk"]:
        shown = f"{shown} ({grant['object_pk']})"
    return f"{grant['holder']}\t{grant['permission']}\t{shown}"


def _check_line(result: dict) -> str:
    return f"{result['slug']}\t{'ok' if result['valid'] else 'invalid: ' + result['error']}"


def _event_line(event: dict) -> str:
    message = event["message"].replace("\n", " | ")
    return f"{event['created'].isoformat()}\t{event['action']}\t{message}"


def _codenames(as_json: bool) -> None:
    if not as_json:
        print("\n".join(CODENAMES))
        return
    _print_json(
        [
            {
                "codename": codename,
                "action": codename.partition(".")[2].partition("_")[0],
                "model": resource.permission_model,
            }
            for codename, resource in CODENAMES.items()
        ]
    )


# -- the database, and everything that can go wrong --------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        try:
            status = _carry_out(args)
        except Failure as failure:
            print(f"plex-admin: {failure}", file=sys.stderr)
            status = 1
        sys.stdout.flush()  # a reader that went away shows here, not at exit
        return status
    except BrokenPipeError:
        # Nothing more can reach the reader; send what is left in the buffer nowhere, so
        # that Python's own flush at exit does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return PIPE_CLOSED
    except KeyboardInterrupt:
        print("plex-admin: interrupted", file=sys.stderr)
        return INTERRUPTED


def _carry_out(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        raise Failure(error) from None
    configure_logging(settings.log_level, settings.log_format)
    if (args.area, args.command) == ("permission", "codenames"):
        _codenames(args.json)  # needs no database
        return 0
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        raise Failure(
            "DATABASE_URL is not a database URL, such as sqlite:///plex-api.sqlite3 or "
            "postgresql://user:password@host/name"
        ) from None
    shown = url.render_as_string(hide_password=True)
    store = None
    try:
        _refuse_a_missing_sqlite_file(url, shown)
        try:
            retention = timedelta(days=settings.event_retention_days)
            store = Store(settings.database_url, event_retention=retention)
        except ImportError:
            raise Failure(
                f"no driver for the database at {shown}; DATABASE_URL can name SQLite "
                "(sqlite:///FILE) or PostgreSQL (postgresql://…)"
            ) from None
        if args.area != "backup" and not store.has_tables():
            raise Failure(f"the database at {shown} has no tables; run: {MIGRATE}")
        return run(args, store, settings)
    except (Failure, BrokenPipeError):
        raise
    except AccountError as error:
        raise Failure(error) from None
    except SQLAlchemyError as error:
        raise Failure(_database_problem(error, shown, url)) from None
    except Exception as error:
        logger.debug("plex-admin failed", exc_info=True)
        problem = _without_password(f"{type(error).__name__}: {error}".splitlines()[0], url)
        raise Failure(f"{problem} (LOG_LEVEL=debug shows where)") from None
    finally:
        if store is not None:
            store.close()


def _refuse_a_missing_sqlite_file(url: URL, shown: str) -> None:
    """Connecting to SQLite creates a missing file, empty: refuse before that happens.
    An empty file has no tables either (and connecting would write to it)."""
    if url.get_backend_name() != "sqlite":
        return
    database = url.database or ""
    if str(url.query.get("uri", "")).lower() in ("true", "1") and database.startswith("file:"):
        if "mode=memory" in database:
            return
        database = database.removeprefix("file:").partition("?")[0]
    if database in ("", ":memory:"):
        return
    path = Path(database)
    if not path.exists():
        raise Failure(
            f"there is no database file {database} (DATABASE_URL={shown}); "
            f"create it with: {MIGRATE}"
        )
    if path.is_file() and path.stat().st_size == 0:
        raise Failure(f"the database at {shown} has no tables; run: {MIGRATE}")


def _database_problem(error: SQLAlchemyError, shown: str, url: URL) -> str:
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    text = _without_password(lines[0] if lines else type(cause).__name__, url)
    hint = f"; is it migrated? run: {MIGRATE}" if UNMIGRATED.search(text) else ""
    return f"database error at {shown}: {text}{hint}"


def _without_password(text: str, url: URL) -> str:
    return text.replace(url.password, "***") if url.password else text


if __name__ == "__main__":
    sys.exit(main())
