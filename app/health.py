"""The Plex token health check (docs/behaviour.md §9): every source's own token, asked
of plex.tv; a token it refuses, or a plex.tv that cannot answer, leaves a
`configuration_error` event naming the source. Run it from cron (see README)."""

import asyncio
import logging

from app.plex import PlexRejected, PlexTV, PlexUnavailable
from models.store import Store

logger = logging.getLogger("app.health")
TOKEN_PLACEHOLDER = "$PLEX_TOKEN"


def check_plex_tokens(store: Store, settings) -> list[tuple[str, str | None]]:
    """(slug, None) for a token plex.tv accepts, (slug, error) for one it does not."""
    return asyncio.run(_check_plex_tokens(store, settings))


async def _check_plex_tokens(store: Store, settings) -> list[tuple[str, str | None]]:
    # One source at a time, each with its own deadline; no capacity is shared here.
    plex = PlexTV(settings.plex_api_url, settings.plex_timeout, capacity=1, pooled=True)
    results = []
    try:
        for source in store.token_sources():
            try:
                async with plex.session() as api:
                    await api(source.client_id, source.plex_token).user_info()
            except (PlexRejected, PlexUnavailable) as failure:
                error = str(failure).replace(source.plex_token, TOKEN_PLACEHOLDER)
                logger.warning("Plex token is invalid/an error occurred: %s", error)
                store.record_event(
                    "configuration_error",
                    f"Plex token invalid, please re-authenticate source.\n{error}",
                    source,
                )
                results.append((source.slug, error))
            else:
                results.append((source.slug, None))
    finally:
        await plex.aclose()
    return results
