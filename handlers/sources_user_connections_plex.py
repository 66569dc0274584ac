"""`/sources/user_connections/plex/`: users' Plex accounts, linked by a Plex login."""

from app.auth import current_identity, current_object, current_store, query_parameter
from app.pagination import paginated_list
from app.permissions import viewable_used_by
from models.resources import CONNECTIONS, connection_source_slug


def sources_user_connections_plex_list(
    page=None, page_size=None, ordering=None, search=None, source__slug=None
):
    # Not a keyword argument: Connexion passes its own `user` (the caller) under that name.
    user = query_parameter("user")
    return paginated_list(
        CONNECTIONS,
        page=page,
        page_size=page_size,
        ordering=ordering,
        search=search,
        filters={"user": None if user in (None, "") else int(user)},
        clauses=connection_source_slug(source__slug),
    )


# async: it reads only what the permission check found, so needs no worker thread.
async def sources_user_connections_plex_retrieve(id):  # noqa: A002  (the spec's name)
    return current_object(), 200


def sources_user_connections_plex_update(id, body):  # noqa: A002
    return current_store().update(CONNECTIONS, str(id), body), 200


def sources_user_connections_plex_partial_update(id, body=None):  # noqa: A002
    return current_store().update(CONNECTIONS, str(id), body), 200


def sources_user_connections_plex_destroy(id):  # noqa: A002
    current_store().delete(CONNECTIONS, str(id))
    return None, 204


def sources_user_connections_plex_used_by_list(id):  # noqa: A002
    return viewable_used_by(current_identity(), current_store().used_by(CONNECTIONS, str(id))), 200
