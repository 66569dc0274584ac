"""`python -m app migrate|serve|check-migrations`."""

import argparse

import uvicorn

from app.config import Settings
from models import migrate


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply the database migrations (DATABASE_URL)")
    commands.add_parser("check-migrations", help="fail if models and migrations disagree")
    commands.add_parser("serve", help="serve the API on HOST:PORT with uvicorn (WORKERS processes)")
    args = parser.parse_args()

    settings = Settings.from_env()
    if args.command == "migrate":
        migrate.upgrade(settings.database_url)
    elif args.command == "check-migrations":
        migrate.check(settings.database_url)
    else:
        uvicorn.run(
            "app.main:create_served_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            workers=settings.workers,
            # Requests in flight get this long to finish on SIGTERM before workers stop.
            timeout_graceful_shutdown=30,
            # Past this many connections and requests in a worker, new requests get 503.
            limit_concurrency=settings.limit_concurrency,
            # An idle kept-alive connection is closed after this many seconds.
            timeout_keep_alive=settings.keep_alive_timeout,
            # The caller's address is decided by TRUSTED_PROXIES (app/throttle.py), not by
            # uvicorn's own reading of X-Forwarded-For.
            proxy_headers=False,
        )


if __name__ == "__main__":
    main()
