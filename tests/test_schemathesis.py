"""schemathesis over every operation of the running server: all phases (stateful
included), all checks. Failures the contract accepts are in the committed baseline,
each with its reason."""

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.contract import CONFIG, ROOT, schemathesis_command, superuser_environment
from tests.helpers import TOKEN

pytestmark = pytest.mark.slow


def _stateful_sources_created(report_dir: Path) -> tuple[int, int]:
    """How many Plex sources the stateful phase created (201) naming a flow, and how
    many naming a property mapping: it can only do so with objects it created first."""
    with_flow = with_mapping = 0
    with next(report_dir.glob("*.ndjson")).open() as events:
        scenarios = [json.loads(line).get("ScenarioFinished") for line in events]
    for scenario in filter(None, scenarios):
        recorder = scenario.get("recorder", {})
        for case_id, case in recorder.get("cases", {}).items():
            request = case["value"]
            response = (recorder.get("interactions", {}).get(case_id) or {}).get("response")
            if (
                case["value"]["meta"]["phase"]["name"] != "stateful"
                or (request["method"], request["path"]) != ("POST", "/sources/plex/")
                or not response
                or response["status_code"] != 201
            ):
                continue
            body = request["body"]
            with_flow += bool(body.get("authentication_flow") or body.get("enrollment_flow"))
            with_mapping += bool(
                body.get("user_property_mappings") or body.get("group_property_mappings")
            )
    return with_flow, with_mapping


def run_schemathesis(
    server: str,
    report_dir: Path,
    *options: str,
    database_url: str | None = None,
    config: Path | None = None,
) -> str:
    """The schemathesis CLI against the server with every check and the baseline; its
    output, after asserting that it found nothing new. As the bootstrap superuser on
    `database_url`, or with the credentials of `config` instead."""
    command = schemathesis_command(server, report_dir, *options, config=config or CONFIG)
    env = None if config else superuser_environment(database_url, TOKEN)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    print(result.stdout[-3000:])  # shown by pytest -rA, and on failure
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Failures:" not in result.stdout
    return result.stdout


# The async flavour on SQLite is `make contract`'s run. The Flask flavour's own layer
# does not depend on the database, and PostgreSQL's store is fuzzed through the async one:
# two runs here cover the rest, in a share of make test's time.
@pytest.mark.parametrize(
    ("database_url", "flavour"),
    [("sqlite", "flask"), ("postgresql", "async")],
    indirect=["database_url"],
    scope="session",  # the fixtures' own scope, so that their database is made once
)
def test_schemathesis_finds_nothing(server, database_url, tmp_path):
    output = run_schemathesis(
        server,
        tmp_path,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        "40",
        database_url=database_url,
    )
    assert "✅ Stateful" in output


# The runs below check the API's rules, not its two app flavours, which answer byte for
# byte alike (test_schemathesis_finds_nothing runs on both): one flavour keeps make test's
# time in bounds.
@pytest.mark.parametrize("flavour", ["async"])
def test_stateful_phase_builds_sources_on_real_flows_and_mappings(server, store, tmp_path):
    """The spec's links lead from a created flow or mapping to a source that uses it."""
    operations = [
        "flows_instances_create",
        "propertymappings_source_plex_create",
        "sources_plex_create",
        "sources_plex_retrieve",
    ]
    run_schemathesis(
        server,
        tmp_path,
        "--phases",
        "stateful",
        "--mode",
        "positive",
        "--max-examples",
        "50",
        *[option for operation in operations for option in ("--include-operation-id", operation)],
        database_url=store.url,
    )
    with_flow, with_mapping = _stateful_sources_created(tmp_path)
    print(f"stateful: {with_flow} sources created with a flow, {with_mapping} with a mapping")
    assert with_flow > 0
    assert with_mapping > 0


IDENTITIES = ("alice", "bob")
ADD = (
    "authentik_sources_plex.add_plexsource",
    "authentik_flows.add_flow",
    "authentik_sources_plex.add_plexsourcepropertymapping",
    # Each may set the keys of the tokens it can see (its own): without it, set_key would
    # be denied to both, and schemathesis would try it as the other, on the first's token.
    "authentik_core.set_token_key",
)


def _own_objects(server: str, store, name: str) -> None:
    """A source, a flow and a mapping that only `name` may view, change and delete."""

    def create(path: str, body: dict) -> dict:
        response = httpx.post(f"{server}/api/v3{path}", json=body, headers=admin)
        assert response.status_code == 201, response.text
        return response.json()

    admin = {"Authorization": f"Bearer {TOKEN}"}
    create("/sources/plex/", {"name": name, "slug": f"{name}-plex", "plex_token": name})
    flow = create(
        "/flows/instances/",
        {"name": name, "slug": f"{name}-flow", "title": name, "designation": "authentication"},
    )
    mapping = create("/propertymappings/source/plex/", {"name": name, "expression": "return {}"})
    for action in ("view", "change", "delete"):
        store.grant(f"authentik_sources_plex.{action}_plexsource", user=name, obj=f"{name}-plex")
        store.grant(f"authentik_flows.{action}_flow", user=name, obj=flow["pk"])
        store.grant(
            f"authentik_sources_plex.{action}_plexsourcepropertymapping",
            user=name,
            obj=mapping["pk"],
        )


@pytest.mark.parametrize("flavour", ["async"])
def test_schemathesis_with_two_identities(server, store, tmp_path):
    """`ignored_auth` and `object_level_authorization` with two real, unprivileged users:
    each may add objects, and view, change and delete only its own. The first makes every
    call; the second is the peer whose objects it must not reach (unpinned, schemathesis
    would move an operation the first may not call to the second, and then follow links
    from the first's objects into the second's view of them)."""
    users = []
    for name in IDENTITIES:
        store.create_user(name)
        for codename in ADD:
            store.grant(codename, user=name)
        _own_objects(server, store, name)
        key = store.create_token(f"{name}-schemathesis", name)
        users.append(
            {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {key}"}]}
        )
    identities = tmp_path / "identities.json"
    identities.write_text(json.dumps({"auth": users}))
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        CONFIG.read_text()
        + f'\n[auth.wfc]\npath = "{identities}"\nuser = "{IDENTITIES[0]}"\n'
        + f"peers = {json.dumps(list(IDENTITIES))}\n"
    )
    run_schemathesis(server, tmp_path, "--max-examples", "40", config=config)
