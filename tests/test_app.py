"""The app itself: the spec it serves, its docs, and both flavours answering alike."""

import asyncio
import contextvars
import inspect
import json
import re
import threading

from connexion.uri_parsing import OpenAPIURIParser
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
from starlette.testclient import TestClient

from app.concurrency import in_worker_thread
from app.config import Settings
from app.framework.validators import QueryValidator
from app.main import SPEC_PATH, create_app
from tests.conftest import AUTH, TOKEN, empty_database, make_source, spec_operations

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
    }


def test_swagger_ui_is_served(anon):
    response = anon.get("/ui/")
    assert response.status_code == 200
    assert "swagger-ui" in response.text


def test_docs_are_served_behind_a_root_path(app):
    """app/framework/operations.py DocsMiddleware: a path that can be the docs' reaches their
    router also when a proxy mounts the app under a prefix."""
    with TestClient(app, root_path="/prefix") as client:
        assert client.get("/prefix/api/v3/openapi.json").json()["openapi"] == "3.0.3"
        assert "swagger-ui" in client.get("/prefix/api/v3/ui/").text
        listed = client.get("/prefix/api/v3/sources/plex/", headers=AUTH)
        assert listed.json()["pagination"]["count"] == 0


def test_null_beside_all_of_is_accepted_where_nullable():
    # Connexion 3.3 rejects it (#1284); icon_themed_urls is such a field.
    from connexion.json_schema import Draft4ResponseValidator

    from app.validation import ResponseSchemaValidator

    schema = {"allOf": [{"type": "object"}], "nullable": True}
    assert ResponseSchemaValidator(schema).is_valid(None)
    assert not ResponseSchemaValidator({"allOf": [{"type": "object"}]}).is_valid(None)
    assert not Draft4ResponseValidator(schema).is_valid(None)


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
        headers = {k: v for k, v in response.headers.items() if k not in ("date", "server")}
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
    import inspect

    import handlers

    operations = set(spec_operations())
    defined = {
        name
        for module in (handlers.flows_instances, handlers.propertymappings_source_plex,
                       handlers.sources_plex, handlers.sources_user_connections_plex)
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__ and not name.startswith("_")
    }  # fmt: skip
    assert all(callable(getattr(handlers, operation, None)) for operation in operations)
    assert defined == operations


def test_connexion_reads_no_signature_after_the_first_request(api, flavour, monkeypatch):
    """app/framework/operations.py: Connexion's per-operation set-up (handler decorators, token
    function signature) is built once, not on every request (async flavour)."""
    source = make_source(api)
    for _ in range(2):  # the first requests build what each operation needs
        assert api.get(f"/sources/plex/{source['slug']}/").status_code == 200
        assert api.get("/sources/plex/?search=x").status_code == 200
        assert api.patch(f"/sources/plex/{source['slug']}/", json={"name": "m"}).status_code == 200
    read = []
    signature = inspect.signature
    monkeypatch.setattr(inspect, "signature", lambda f, **kw: read.append(f) or signature(f, **kw))

    assert api.get(f"/sources/plex/{source['slug']}/").status_code == 200
    assert api.get("/sources/plex/?search=x").status_code == 200
    assert api.patch(f"/sources/plex/{source['slug']}/", json={"name": "n"}).status_code == 200

    expected = [] if flavour == "async" else read  # Flask's chain is Connexion's own
    assert read == expected


def test_request_set_up_is_built_once_per_operation(api, flavour, monkeypatch):
    """app/framework/operations.py: after an operation's first request, no URI parser, parameter
    validator or list of parameter schemas is built for it, and a body is parsed once,
    by its check (async flavour; Flask's handler arguments are Connexion's own)."""
    for _ in range(2):  # the first requests build what each operation needs
        make_source(api, slug=f"warm-{_}")
        assert api.get(f"/sources/plex/warm-{_}/").status_code == 200
        assert api.get("/sources/plex/?search=x").status_code == 200
    built, parsed = [], []
    parser_init, validator_init = OpenAPIURIParser.__init__, QueryValidator.__init__
    loads = json.loads
    monkeypatch.setattr(
        OpenAPIURIParser,
        "__init__",
        lambda *a, **kw: built.append("parser") or parser_init(*a, **kw),
    )
    monkeypatch.setattr(
        QueryValidator,
        "__init__",
        lambda *a, **kw: built.append("validator") or validator_init(*a, **kw),
    )
    monkeypatch.setattr(json, "loads", lambda s, **kw: parsed.append(s) or loads(s, **kw))
    schemas = OpenAPIURIParser.param_schemas.fget
    monkeypatch.setattr(
        OpenAPIURIParser,
        "param_schemas",
        property(lambda parser: built.append("schemas") or schemas(parser)),
    )

    source = make_source(api, slug="counted-slug")
    assert api.get(f"/sources/plex/{source['slug']}/").json()["pk"] == source["pk"]
    assert api.get("/sources/plex/?search=counted").json()["pagination"]["count"] == 1
    assert api.get("/sources/plex/?page_size=5&ordering=slug").status_code == 200

    texts = [s if isinstance(s, str) else s.decode() for s in parsed]
    # The request's body names the slug; answers (also parsed, by the test client and
    # the response check) carry a pk as well.
    body_parses = [text for text in texts if "counted-slug" in text and '"pk"' not in text]
    if flavour == "async":
        assert built == []
        assert len(body_parses) == 1
    else:
        assert "validator" not in built
        assert len(body_parses) == 2  # the check's, then Flask's own


def test_a_worker_thread_call_suspends_the_request_once():
    """app/concurrency.py: blocking work runs in another thread, sees the caller's context
    (Connexion's request context is read there), and suspends the awaiting request once
    (Starlette's run_in_threadpool suspends it three times, and every suspension resumes
    the whole middleware stack)."""
    request_value = contextvars.ContextVar("request_value")

    def blocking(suffix):
        return request_value.get() + suffix, threading.get_ident()

    class Suspensions:
        """Awaits `awaitable`, counting the times it gives the event loop back."""

        def __init__(self, awaitable):
            self.awaitable, self.count = awaitable, 0

        def __await__(self):
            steps, sent = self.awaitable.__await__(), None
            while True:
                try:
                    yielded = steps.send(sent)
                except StopIteration as done:
                    return done.value
                self.count += 1
                sent = yield yielded

    async def request():
        request_value.set("from the request")
        counted = Suspensions(in_worker_thread(blocking, ", in a worker"))
        return await counted, counted.count, threading.get_ident()

    (value, worker), suspensions, loop_thread = asyncio.run(request())
    assert value == "from the request, in a worker"
    assert worker != loop_thread
    assert suspensions == 1
