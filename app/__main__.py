"""`plex-api serve|migrate|check` (also `python -m app …`): serve the API, apply the
database migrations, or check that the models and the migrations agree."""

import argparse
import atexit
import logging
import os
import shutil
import sys
import tempfile

import uvicorn

from app.config import ConfigError, Settings
from app.logs import configure_logging
from models import migrate

logger = logging.getLogger("app")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="plex-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply the database migrations (DATABASE_URL)")
    commands.add_parser("check", aliases=["check-migrations"],
                        help="fail if models and migrations disagree")  # fmt: skip
    commands.add_parser(
        "serve",
        help="migrate the database if needed (unless MIGRATE_ON_START=false), then serve "
        "the API on HOST:PORT with uvicorn (WORKERS processes)",
    )
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"plex-api: {error}", file=sys.stderr)
        sys.exit(2)
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "migrate":
        _migrate(settings)
    elif args.command in ("check", "check-migrations"):
        migrate.check(settings.database_url)
    else:
        if settings.workers > 1:
            _share_metrics_between_workers()
        if settings.migrate_on_start:
            _migrate(settings)
        elif not migrate.is_current(settings.database_url):
            sys.exit(
                "plex-api: the database is not at the newest migration and "
                "MIGRATE_ON_START is off; run: plex-api migrate"
            )
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
            # Logging is ours (app/logs.py): one line per request, with its request id.
            log_config=None,
            access_log=False,
        )


def _share_metrics_between_workers() -> None:
    """prometheus-client's multi-process mode: each worker writes its figures to files
    in one folder, and /-/metrics/ adds them up (a fresh folder for each start)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        folder = tempfile.mkdtemp(prefix="plex-api-metrics-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


def _migrate(settings: Settings) -> None:
    if migrate.upgrade(settings.database_url):
        logger.info("Migrated the database to revision %s", migrate.head())
    else:
        logger.info("The database is at the newest revision (%s)", migrate.head())


if __name__ == "__main__":
    main()
