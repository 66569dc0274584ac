"""One function per operationId; Connexion resolves `<operationId>` onto this package."""

from handlers.core_groups import *  # noqa: F403
from handlers.core_tokens import *  # noqa: F403
from handlers.core_users import *  # noqa: F403
from handlers.events_events import *  # noqa: F403
from handlers.flows_instances import *  # noqa: F403
from handlers.propertymappings_source_plex import *  # noqa: F403
from handlers.rbac_initial_permissions import *  # noqa: F403
from handlers.rbac_permissions import *  # noqa: F403
from handlers.rbac_roles import *  # noqa: F403
from handlers.sources_plex import *  # noqa: F403
from handlers.sources_user_connections_plex import *  # noqa: F403
