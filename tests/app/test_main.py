"""The app itself: the spec it serves, its docs, and both flavours answering alike."""

import inspect
import re

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from app.config import Settings
from app.main import SPEC_PATH, create_app
from tests.helpers import AUTH, TOKEN, empty_database, spec_operations

OPERATION_IDS = (
    {
        "sources_plex_redeem_token_create",
        "sources_plex_redeem_token_authenticated_create",
    }
    | {
        f"{prefix}_{action}"
        for prefix in ("sources_plex", "flows_instances", "propertymappings_source_plex")
        for action in (
            "list",
            "create",
            "retrieve",
            "update",
            "partial_update",
            "destroy",
            "used_by_list",
        )
    }
    | {
        f"sources_user_connections_plex_{action}"
        for action in ("list", "retrieve", "update", "partial_update", "destroy", "used_by_list")
    }
    | {
        f"{prefix}_{action}"
        for prefix in ("core_users", "core_tokens")
        for action in (
            "list",
            "create",
            "retrieve",
            "update",
            "partial_update",
            "destroy",
            "used_by_list",
        )
    }
    | {"core_users_me_retrieve", "core_tokens_set_key_create", "core_tokens_view_key_retrieve"}
    | {
        f"core_groups_{action}"
        for action in (
            "list",
            "create",
            "retrieve",
            "update",
            "partial_update",
            "destroy",
            "used_by_list",
            "add_user_create",
            "remove_user_create",
        )
    }
    | {
        f"rbac_roles_{action}"
        for action in (
            "list",
            "create",
            "retrieve",
            "update",
            "partial_update",
            "destroy",
            "used_by_list",
            "add_user_create",
            "remove_user_create",
        )
    }
    | {
        f"rbac_initial_permissions_{action}"
        for action in (
            "list",
            "create",
            "retrieve",
            "update",
            "partial_update",
            "destroy",
            "used_by_list",
        )
    }
    | {
        "rbac_permissions_list",
        "rbac_permissions_retrieve",
        "rbac_permissions_assigned_by_roles_list",
        "rbac_permissions_assigned_by_roles_assign",
        "rbac_permissions_assigned_by_roles_unassign_partial_update",
    }
    | {"events_events_list", "events_events_retrieve", "events_events_actions_list"}
)


def test_spec_is_valid_openapi_3_0():
    spec, _ = read_from_filename(str(SPEC_PATH))
    assert spec["openapi"] == "3.0.3"
    validate(spec)


def test_spec_uses_authentiks_operation_ids():
    assert set(spec_operations()) == OPERATION_IDS


def test_spec_is_served(anon):
    response = anon.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["servers"] == [{"url": "/api/v3"}]
    assert set(response.json()["paths"]) == {
        "/sources/plex/",
        "/sources/plex/{slug}/",
        "/sources/plex/{slug}/used_by/",
        "/flows/instances/",
        "/flows/instances/{slug}/",
        "/flows/instances/{slug}/used_by/",
        "/propertymappings/source/plex/",
        "/propertymappings/source/plex/{pm_uuid}/",
        "/propertymappings/source/plex/{pm_uuid}/used_by/",
        "/sources/plex/redeem_token/",
        "/sources/plex/redeem_token_authenticated/",
        "/sources/user_connections/plex/",
        "/sources/user_connections/plex/{id}/",
        "/sources/user_connections/plex/{id}/used_by/",
        "/core/users/",
        "/core/users/{id}/",
        "/core/users/{id}/used_by/",
        "/core/users/me/",
        "/core/tokens/",
        "/core/tokens/{identifier}/",
        "/core/tokens/{identifier}/used_by/",
        "/core/tokens/{identifier}/set_key/",
        "/core/tokens/{identifier}/view_key/",
        "/core/groups/",
        "/core/groups/{group_uuid}/",
        "/core/groups/{group_uuid}/used_by/",
        "/core/groups/{group_uuid}/add_user/",
        "/core/groups/{group_uuid}/remove_user/",
        "/rbac/roles/",
        "/rbac/roles/{uuid}/",
        "/rbac/roles/{uuid}/used_by/",
        "/rbac/roles/{uuid}/add_user/",
        "/rbac/roles/{uuid}/remove_user/",
        "/rbac/permissions/",
        "/rbac/permissions/{id}/",
        "/rbac/permissions/assigned_by_roles/",
        "/rbac/permissions/assigned_by_roles/{uuid}/assign/",
        "/rbac/permissions/assigned_by_roles/{uuid}/unassign/",
        "/rbac/initial_permissions/",
        "/rbac/initial_permissions/{id}/",
        "/rbac/initial_permissions/{id}/used_by/",
        "/events/events/",
        "/events/events/{event_uuid}/",
        "/events/events/actions/",
    }


def test_swagger_ui_is_served(anon):
    response = anon.get("/ui/")
    assert response.status_code == 200
    assert "swagger-ui" in response.text


def _conversation(client) -> list[tuple[int, dict, bytes]]:
    """A fixed sequence of requests; what came back, with random values masked."""
    requests = [
        ("POST", "/sources/plex/", {"name": "n", "slug": "s", "plex_token": "t", "client_id": "c"}),
        ("GET", "/sources/plex/s/", None),
        ("PATCH", "/sources/plex/s/", {"icon": "x/%(theme)s.svg"}),
        ("GET", "/sources/plex/?ordering=-name&search=n", None),
        ("POST", "/sources/plex/", {"slug": "a b", "enabled": "x"}),
        ("GET", "/sources/plex/?page=9", None),
        ("TRACE", "/sources/plex/", None),
        ("GET", "/sources/plex/s/used_by/", None),
        ("DELETE", "/sources/plex/s/", None),
        ("GET", "/sources/plex/s/", None),
    ]
    seen = []
    for method, path, body in requests:
        response = client.request(method, path, json=body)
        content = re.sub(rb'"pk":"[0-9a-f-]{36}"', b'"pk":"*"', response.content)
        masked = ("date", "server", "x-request-id")
        headers = {k: v for k, v in response.headers.items() if k not in masked}
        seen.append((response.status_code, headers, content))
    return seen


def test_both_flavours_answer_byte_for_byte_alike(database_url):
    answers = {}
    for flavour in ("async", "flask"):
        app = create_app(
            Settings(database_url=database_url, bootstrap_token=TOKEN, app_flavour=flavour)
        )
        empty_database(app.store)
        with app.test_client(base_url="http://testserver/api/v3", headers=AUTH) as client:
            answers[flavour] = _conversation(client)
        app.store.close()
    assert answers["async"] == answers["flask"]
    assert answers["async"][0][0] == 201
    assert answers["async"][0][2].startswith(b'{"pk":"*","name":"n","slug":"s",')


def test_every_operation_has_a_handler_and_every_handler_an_operation():

    import handlers

    operations = set(spec_operations())
    defined = {
        name
        for module in (handlers.flows_instances, handlers.propertymappings_source_plex,
                       handlers.sources_plex, handlers.sources_user_connections_plex,
                       handlers.core_users, handlers.core_tokens, handlers.core_groups,
                       handlers.rbac_roles, handlers.rbac_permissions,
                       handlers.rbac_initial_permissions, handlers.events_events)
        for name, function in inspect.getmembers(module, inspect.isfunction)
        # A module's handlers are named after it (the operationId prefix).
        if name.startswith(module.__name__.removeprefix("handlers.") + "_")
    }  # fmt: skip
    assert all(callable(getattr(handlers, operation, None)) for operation in operations)
    assert defined == operations
