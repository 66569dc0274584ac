"""`/sources/user_connections/plex/`: users' Plex accounts, linked by a Plex login
(created only by one; there is no create operation)."""

from app.crud import ResourceOperations

_connections = ResourceOperations("sources_user_connections_plex", key="id")

sources_user_connections_plex_list = _connections.list
sources_user_connections_plex_retrieve = _connections.retrieve
sources_user_connections_plex_update = _connections.update
sources_user_connections_plex_partial_update = _connections.partial_update
sources_user_connections_plex_destroy = _connections.destroy
sources_user_connections_plex_used_by_list = _connections.used_by_list
