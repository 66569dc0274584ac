"""Clients generated from specs, driving the running server through a whole scenario."""

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from authentik_client import (
    ApiClient,
    ApiException,
    Configuration,
    CoreApi,
    EventActions,
    EventsApi,
    FlowDesignationEnum,
    FlowRequest,
    FlowsApi,
    GroupRequest,
    ModelEnum,
    PatchedGroupRequest,
    PatchedPlexSourceRequest,
    PatchedUserRequest,
    PermissionAssignRequest,
    PlexSourceRequest,
    RbacApi,
    RoleRequest,
    SourcesApi,
    TokenRequest,
    TokenSetKeyRequest,
    UserAccountRequest,
    UserRequest,
)

from tests.helpers import TOKEN, spec_operations

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("flavour", ["async"])
def test_authentiks_own_client_works_unchanged(server):
    """authentik's published Python SDK (authentik-client on PyPI), generated from
    authentik's own schema, against this server: the wire formats match."""
    configuration = Configuration(host=f"{server}/api/v3", access_token=TOKEN)
    with ApiClient(configuration) as client:
        sources, flows = SourcesApi(client), FlowsApi(client)
        flow = flows.flows_instances_create(
            FlowRequest(
                name="Plex login",
                slug="plex-login",
                title="Log in with Plex",
                designation=FlowDesignationEnum.AUTHENTICATION,
            )
        )
        created = sources.sources_plex_create(
            PlexSourceRequest(
                name="Home Plex",
                slug="home-plex",
                plex_token="owner-token",
                authentication_flow=flow.pk,
                allowed_servers=["server-a"],
            )
        )
        assert created.slug == "home-plex"
        assert created.component == "ak-source-plex-form"
        assert created.icon_url == "/static/authentik/sources/plex.svg"
        assert len(created.client_id) == 40

        listed = sources.sources_plex_list(authentication_flow=flow.pk, search="home")
        assert [s.slug for s in listed.results] == ["home-plex"]
        assert listed.pagination.count == 1

        fetched = sources.sources_plex_retrieve("home-plex")
        assert fetched.pk == created.pk
        assert fetched.plex_token == "owner-token"

        patched = sources.sources_plex_partial_update(
            "home-plex", PatchedPlexSourceRequest(enabled=False, allow_friends=False)
        )
        assert (patched.enabled, patched.allow_friends) == (False, False)

        used_by = flows.flows_instances_used_by_list("plex-login")
        assert [(u.model_name, u.action.value, u.name) for u in used_by] == [
            ("source", "set_null", "Home Plex")
        ]

        with pytest.raises(ApiException) as rejected:
            sources.sources_plex_create(
                PlexSourceRequest(name="x", slug="home-plex", plex_token="t")
            )
        assert rejected.value.status == 400
        assert rejected.value.body == '{"slug":["source with this slug already exists."]}'

        sources.sources_plex_destroy("home-plex")
        with pytest.raises(ApiException) as gone:
            sources.sources_plex_retrieve("home-plex")
        assert gone.value.status == 404


@pytest.mark.parametrize("flavour", ["async"])
def test_authentiks_own_client_manages_users_and_tokens(server):
    """authentik's SDK, unchanged: an administrator makes a user and a group with it in,
    mints the user a token with a chosen key, the user sees itself with that key and
    makes a token of its own; once the user is deleted, its keys stop working."""
    admin = Configuration(host=f"{server}/api/v3", access_token=TOKEN)
    with ApiClient(admin) as client:
        core = CoreApi(client)
        user = core.core_users_create(
            UserRequest(username="jordan", name="Jordan", email="jordan@example.com")
        )
        assert (user.username, user.is_superuser, user.groups_obj) == ("jordan", False, [])
        token = core.core_tokens_create(
            TokenRequest(identifier="jordan-sync", user=user.pk, expiring=False)
        )
        assert token.user_obj.username == "jordan"
        core.core_tokens_set_key_create(
            "jordan-sync", TokenSetKeyRequest(key="jordan-chose-this-key-0123")
        )
        with pytest.raises(ApiException) as no_key:
            core.core_tokens_view_key_retrieve("jordan-sync")
        assert no_key.value.status == 400
        family = core.core_groups_create(GroupRequest(name="family"))
        core.core_groups_add_user_create(family.pk, UserAccountRequest(pk=user.pk))
        assert [u.username for u in core.core_groups_retrieve(family.pk).users_obj] == ["jordan"]
        renamed = core.core_users_partial_update(user.pk, PatchedUserRequest(name="Jordan M."))
        assert renamed.groups == [family.pk]
        assert renamed.name == "Jordan M."
        assert [u.username for u in core.core_users_list(search="jordan").results] == ["jordan"]

    as_jordan = Configuration(host=f"{server}/api/v3", access_token="jordan-chose-this-key-0123")
    with ApiClient(as_jordan) as client:
        core = CoreApi(client)
        me = core.core_users_me_retrieve()
        assert (me.user.pk, me.user.username, me.original) == (user.pk, "jordan", None)
        own = core.core_tokens_create(TokenRequest(identifier="jordan-laptop"))
        assert own.user == user.pk
        listed = core.core_tokens_list()
        assert [t.identifier for t in listed.results] == ["jordan-laptop", "jordan-sync"]

    with ApiClient(admin) as client:
        CoreApi(client).core_users_destroy(user.pk)
    with ApiClient(as_jordan) as client, pytest.raises(ApiException) as refused:
        CoreApi(client).core_users_me_retrieve()
    assert refused.value.status == 403


@pytest.mark.parametrize("flavour", ["async"])
def test_authentiks_own_client_gives_a_team_one_source(server):
    """authentik's SDK, unchanged, through roles: a team's role may change one source;
    a member's token edits that source and not another; the edit is an event; once the
    member is deleted its token stops working."""
    admin = Configuration(host=f"{server}/api/v3", access_token=TOKEN)
    key = "casey-chose-this-key-0123"
    plex = ModelEnum.AUTHENTIK_SOURCES_PLEX_DOT_PLEXSOURCE
    with ApiClient(admin) as client:
        core, rbac, sources = CoreApi(client), RbacApi(client), SourcesApi(client)
        user = core.core_users_create(UserRequest(username="casey", name="Casey"))
        team = core.core_groups_create(GroupRequest(name="media-team", users=[user.pk]))
        role = rbac.rbac_roles_create(RoleRequest(name="plex-editors"))
        team = core.core_groups_partial_update(team.pk, PatchedGroupRequest(roles=[role.pk]))
        assert [r.name for r in team.roles_obj] == ["plex-editors"]
        home = sources.sources_plex_create(
            PlexSourceRequest(name="Home", slug="home", plex_token="home-token")
        )
        sources.sources_plex_create(
            PlexSourceRequest(name="Office", slug="office", plex_token="office-token")
        )
        given = rbac.rbac_permissions_assigned_by_roles_assign(
            role.pk,
            PermissionAssignRequest(
                permissions=["authentik_sources_plex.view_plexsource", "change_plexsource"],
                model=plex,
                object_pk=str(home.pk),
            ),
        )
        assert len(given) == 2
        holders = rbac.rbac_permissions_assigned_by_roles_list(model=plex, object_pk=str(home.pk))
        (holder,) = holders.results
        assert (holder.name, sorted(p.codename for p in holder.object_permissions)) == (
            "plex-editors", ["change_plexsource", "view_plexsource"]
        )  # fmt: skip
        core.core_tokens_create(TokenRequest(identifier="casey-cli", user=user.pk, expiring=False))
        core.core_tokens_set_key_create("casey-cli", TokenSetKeyRequest(key=key))

    as_casey = Configuration(host=f"{server}/api/v3", access_token=key)
    with ApiClient(as_casey) as client:
        sources = SourcesApi(client)
        edited = sources.sources_plex_partial_update(
            "home", PatchedPlexSourceRequest(enabled=False)
        )
        assert edited.enabled is False
        assert edited.plex_token == "home-token"  # it may change it, so it may see it
        with pytest.raises(ApiException) as elsewhere:
            sources.sources_plex_partial_update("office", PatchedPlexSourceRequest(enabled=False))
        assert elsewhere.value.status == 404
        assert [s.slug for s in sources.sources_plex_list().results] == ["home"]

    with ApiClient(admin) as client:
        events = EventsApi(client).events_events_list(
            action="model_updated", context_model_pk=str(home.pk)
        )
        (event,) = events.results
        assert event.action == EventActions.MODEL_UPDATED
        assert event.user == {"pk": user.pk, "username": "casey", "email": ""}
        assert event.context["model"]["name"] == "Home"
        assert "home-token" not in str(event.to_dict())
        actions = EventsApi(client).events_events_actions_list()
        assert "model_updated" in [a.component for a in actions]
        CoreApi(client).core_users_destroy(user.pk)
    with ApiClient(as_casey) as client, pytest.raises(ApiException) as refused:
        SourcesApi(client).sources_plex_retrieve("home")
    assert refused.value.status == 403


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory):
    """The Python client `make sdk` generates from our own YAML, importable."""
    output = tmp_path_factory.mktemp("sdk") / "python"
    subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "openapi" / "openapi.yaml"),
            "--config",
            str(ROOT / "openapi" / "python-client.yaml"),
            "--output-path",
            str(output),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
    )
    sys.path.insert(0, str(output))
    yield importlib.import_module("plex_api_client")
    sys.path.remove(str(output))


def test_the_generated_models_have_clean_names(generated_client):
    """One model per schema and one enum type per enum, named after the spec's
    components: no `Type0` variants, no query-parameter copies of an enum."""
    models = importlib.import_module("plex_api_client.models")
    names = set(models.__all__)
    assert not [name for name in names if "Type0" in name]
    enums = sorted(name for name in names if name.endswith(("Enum", "Mode")))
    assert enums == [
        "AuthenticationEnum", "DeniedActionEnum", "FlowDesignationEnum", "FlowLayoutEnum",
        "GroupMatchingModeEnum", "IntentEnum", "ModelEnum", "PolicyEngineMode", "UsedByActionEnum",
        "UserMatchingModeEnum", "UserTypeEnum",
    ]  # fmt: skip
    assert {"ThemedUrls", "EventActions"} <= names


@pytest.mark.parametrize("flavour", ["async"])
def test_a_client_generated_from_our_yaml(server, generated_client):
    from plex_api_client.api.flows import flows_instances_create, flows_instances_used_by_list
    from plex_api_client.api.sources import (
        sources_plex_create,
        sources_plex_destroy,
        sources_plex_list,
        sources_plex_partial_update,
        sources_plex_retrieve,
    )
    from plex_api_client.models import (
        FlowDesignationEnum as Designation,
    )
    from plex_api_client.models import (
        FlowRequest as NewFlow,
    )
    from plex_api_client.models import (
        PatchedPlexSourceRequest as SourcePatch,
    )
    from plex_api_client.models import (
        PlexSourceRequest as NewSource,
    )

    with generated_client.AuthenticatedClient(base_url=f"{server}/api/v3", token=TOKEN) as client:
        flow = flows_instances_create.sync(
            client=client,
            body=NewFlow(
                name="Login", slug="login", title="Login", designation=Designation.AUTHENTICATION
            ),
        )
        created = sources_plex_create.sync_detailed(
            client=client,
            body=NewSource(name="Home", slug="home", plex_token="t", authentication_flow=flow.pk),
        )
        assert created.status_code == 201
        assert created.parsed.slug == "home"

        listed = sources_plex_list.sync(client=client, authentication_flow=flow.pk)
        assert [s.slug for s in listed.results] == ["home"]
        assert sources_plex_retrieve.sync("home", client=client).pk == created.parsed.pk

        patched = sources_plex_partial_update.sync(
            "home", client=client, body=SourcePatch(enabled=False)
        )
        assert patched.enabled is False
        used_by = flows_instances_used_by_list.sync("login", client=client)
        assert [(u.model_name, u.action.value) for u in used_by] == [("source", "set_null")]

        rejected = sources_plex_create.sync_detailed(
            client=client, body=NewSource(name="", slug="not a slug", plex_token="t")
        )
        assert rejected.status_code == 400
        assert rejected.parsed.additional_properties == {
            "name": ["This field may not be blank."],
            "slug": [
                'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'
            ],
        }
        assert sources_plex_destroy.sync_detailed("home", client=client).status_code == 204
        assert sources_plex_retrieve.sync_detailed("home", client=client).status_code == 404


@pytest.mark.skipif(
    not (ROOT / "node_modules" / ".bin" / "openapi-typescript").exists()
    and not os.environ.get("CI"),
    reason="npm tools not installed (make installs them)",
)
def test_typescript_types_cover_every_operation(tmp_path):
    output = tmp_path / "plex-api.d.ts"
    subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "openapi-typescript"),
         str(ROOT / "openapi" / "openapi.yaml"), "--output", str(output)],
        check=True, capture_output=True,
    )  # fmt: skip
    types = output.read_text()
    for operation_id in spec_operations():
        assert f"{operation_id}: {{" in types


NODE_BIN = ROOT / "node_modules" / ".bin"


@pytest.mark.parametrize("flavour", ["async"])
def test_authentiks_typescript_client_works_unchanged(server):
    """@goauthentik/api, authentik's published TypeScript client, under Node's test
    runner: the same scenario as the Python client's."""
    result = subprocess.run(
        ["node", "--test", str(ROOT / "tests" / "ts" / "authentik-client.test.mjs")],
        env={**os.environ, "PLEX_API_BASE": server, "PLEX_API_TOKEN": TOKEN},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# pass 1" in result.stdout and "# fail 0" in result.stdout


@pytest.mark.parametrize("flavour", ["async"])
def test_generated_types_through_a_typed_fetch_client(server):
    """Types generated from our spec compile with `tsc --strict` in a typed fetch client
    (openapi-fetch), which then drives the server."""
    work = ROOT / "build" / "typed-fetch"  # under the checkout, to find node_modules
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "ts" / "typed-fetch.mts", work)
    subprocess.run(
        [str(NODE_BIN / "openapi-typescript"), str(ROOT / "openapi" / "openapi.yaml"),
         "--output", str(work / "plex-api.d.ts")],
        check=True, capture_output=True,
    )  # fmt: skip
    compiled = subprocess.run(
        [str(NODE_BIN / "tsc"), "--strict", "--module", "nodenext", "--moduleResolution",
         "nodenext", "--target", "es2022", "--rootDir", str(work), "--outDir",
         str(work / "out"), str(work / "typed-fetch.mts")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    ran = subprocess.run(
        ["node", str(work / "out" / "typed-fetch.mjs")],
        env={**os.environ, "PLEX_API_BASE": server, "PLEX_API_TOKEN": TOKEN},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.strip() == "typed fetch scenario: ok"
