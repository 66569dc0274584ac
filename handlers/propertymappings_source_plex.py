"""`/propertymappings/source/plex/`: Plex source property mappings."""

from app.crud import ResourceOperations

_mappings = ResourceOperations("propertymappings_source_plex", key="pm_uuid")

propertymappings_source_plex_list = _mappings.list
propertymappings_source_plex_create = _mappings.create
propertymappings_source_plex_retrieve = _mappings.retrieve
propertymappings_source_plex_update = _mappings.update
propertymappings_source_plex_partial_update = _mappings.partial_update
propertymappings_source_plex_destroy = _mappings.destroy
propertymappings_source_plex_used_by_list = _mappings.used_by_list
