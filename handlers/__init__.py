"""One function per operationId; Connexion resolves `<operationId>` onto this package."""

from handlers.sources_plex import (  # noqa: F401
    sources_plex_create,
    sources_plex_destroy,
    sources_plex_list,
    sources_plex_partial_update,
    sources_plex_retrieve,
    sources_plex_update,
    sources_plex_used_by_list,
)
