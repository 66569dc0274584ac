"""`plex-admin`: manage users, groups, API tokens and permissions in the database that
DATABASE_URL names. Every command has --help."""

import argparse
import logging
import sys
from datetime import datetime

from app.config import Settings
from app.health import check_plex_tokens
from models.accounts import CODENAMES, AccountError
from models.store import Store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plex-admin", description=__doc__)
    areas = parser.add_subparsers(dest="area", required=True, metavar="AREA")

    user = areas.add_parser("user", help="create, deactivate and list users")
    users = user.add_subparsers(dest="command", required=True, metavar="COMMAND")
    create = users.add_parser("create", help="create a user (no permissions yet)")
    create.add_argument("username")
    create.add_argument("--name", default="", help="display name")
    create.add_argument("--email", default="")
    for name, text in (
        ("deactivate", "deactivate a user: its tokens stop working"),
        ("activate", "activate a user again"),
    ):
        users.add_parser(name, help=text).add_argument("username")
    users.add_parser("list", help="list users, their groups and superuser status")

    group = areas.add_parser("group", help="create groups and add users to them")
    groups = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    create = groups.add_parser("create", help="create a group")
    create.add_argument("name")
    create.add_argument("--superuser", action="store_true", help="its members are superusers")
    add = groups.add_parser("add-user", help="add a user to a group")
    add.add_argument("group")
    add.add_argument("username")

    token = areas.add_parser("token", help="create and revoke API tokens")
    tokens = token.add_subparsers(dest="command", required=True, metavar="COMMAND")
    create = tokens.add_parser("create", help="create an API token and print its key, once")
    create.add_argument("identifier", help="a unique name for the token")
    create.add_argument("--user", required=True, help="the user the token acts as")
    create.add_argument(
        "--expires",
        type=datetime.fromisoformat,
        help="expiry, ISO 8601 with a time zone (default: never)",
    )
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
    listing = permissions.add_parser("list", help="list who can do what")
    listing.add_argument("--user", help="only what reaches this user (directly or by group)")
    permissions.add_parser("codenames", help="list the permissions there are")

    plex = areas.add_parser("plex", help="check the sources' Plex tokens with plex.tv")
    plexes = plex.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plexes.add_parser(
        "check-tokens",
        help="ask plex.tv about every source's token; record a configuration_error event "
        "for each it refuses (exit status 1 if any)",
    )

    event = areas.add_parser("events", help="list recorded events")
    events = event.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = events.add_parser("list", help="list events, oldest first")
    listing.add_argument("--action", help="only events of this action, e.g. configuration_error")
    return parser


def run(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    """Carry out the command; its exit status."""
    command = (args.area, args.command)
    if command == ("user", "create"):
        store.create_user(args.username, name=args.name, email=args.email)
    elif command in (("user", "deactivate"), ("user", "activate")):
        store.set_user_active(args.username, args.command == "activate")
    elif command == ("user", "list"):
        for user in store.list_users():
            flags = [] if user["active"] else ["inactive"]
            flags += ["superuser"] if user["superuser"] else []
            groups = ",".join(user["groups"]) or "-"
            print(f"{user['username']}\tgroups={groups}\t{' '.join(flags)}".rstrip())
    elif command == ("group", "create"):
        store.create_group(args.name, is_superuser=args.superuser)
    elif command == ("group", "add-user"):
        store.add_to_group(args.username, args.group)
    elif command == ("token", "create"):
        if args.expires is not None and args.expires.tzinfo is None:
            raise AccountError("--expires needs a time zone, such as 2027-01-01T00:00:00+00:00")
        print(store.create_token(args.identifier, args.user, expires=args.expires))
    elif command == ("token", "revoke"):
        store.revoke_token(args.identifier)
    elif command in (("permission", "grant"), ("permission", "revoke")):
        change = store.grant if args.command == "grant" else store.revoke
        change(args.codename, user=args.user, group=args.group, obj=args.object)
    elif command == ("permission", "list"):
        for grant in store.list_grants(user=args.user):
            print(f"{grant['holder']}\t{grant['permission']}\t{grant['object']}")
    elif command == ("permission", "codenames"):
        print("\n".join(CODENAMES))
    elif command == ("plex", "check-tokens"):
        results = check_plex_tokens(store, settings)
        for slug, error in results:
            print(f"{slug}\t{'ok' if error is None else 'invalid: ' + error}")
        return 1 if any(error is not None for _, error in results) else 0
    elif command == ("events", "list"):
        for event in store.list_events(args.action):
            message = event["message"].replace("\n", " | ")
            print(f"{event['created'].isoformat()}\t{event['action']}\t{message}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper())
    store = Store(settings.database_url)
    try:
        return run(args, store, settings)
    except AccountError as error:
        print(f"plex-admin: {error}", file=sys.stderr)
        return 1
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
