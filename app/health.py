"""The Plex token health check (docs/behaviour.md §9): every source's own token, asked of
plex.tv; a token it refuses, or a plex.tv that cannot answer, leaves a
`configuration_error` event naming the source. Run it from cron (see README)."""

import logging

from app.plex import PlexAPI, PlexRejected, PlexUnavailable
from models.store import Store

logger = logging.getLogger("app.health")
TOKEN_PLACEHOLDER = "$PLEX_TOKEN"


def check_plex_tokens(store: Store, settings) -> list[tuple[str, str | None]]:
    """(slug, None) for a token plex.tv accepts, (slug, error) for one it does not."""
    results = []
    for source in store.token_sources():
        api = PlexAPI(
            settings.plex_api_url, source.client_id, source.plex_token, settings.plex_timeout
        )
        try:
            api.user_info()
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
    return results
