"""app/framework: Connexion extended behind one fence, for one Connexion series."""

import importlib
import inspect
import json
import re
import subprocess
import sys
from importlib.metadata import version

import pytest
from connexion.uri_parsing import OpenAPIURIParser
from starlette.testclient import TestClient

from app.framework import (
    PRIVATE_NAMES,
    SUPPORTED_SERIES,
    UnsupportedConnexion,
    check_connexion_version,
)
from app.framework.validators import QueryValidator
from tests.helpers import AUTH, make_source


def test_the_installed_connexion_is_the_supported_series():
    assert version("connexion").startswith(SUPPORTED_SERIES + ".")
    check_connexion_version(version("connexion"))  # does not raise


@pytest.mark.parametrize("other", ["3.2.0", "3.4.0", "4.0.0", "2.15.1"])
def test_another_connexion_series_is_refused_in_one_line(other):
    with pytest.raises(UnsupportedConnexion) as refused:
        check_connexion_version(other)
    message = str(refused.value)
    assert message == f"connexion {other} is installed; this server supports >=3.3,<3.4 only"
    assert "\n" not in message


def test_the_server_refuses_to_start_on_another_connexion(tmp_path):
    """The check runs at import: a Connexion that reports another version stops the
    process with the one-line message and a non-zero status, no traceback."""
    shim = tmp_path / "sitecustomize.py"
    shim.write_text(
        "import importlib.metadata as m\n"
        "real = m.version\n"
        "m.version = lambda name: '3.4.0' if name == 'connexion' else real(name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import app.framework"],
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "connexion 3.4.0 is installed; this server supports >=3.3,<3.4 only"
    ]


@pytest.mark.parametrize("where", PRIVATE_NAMES, ids=lambda where: ":".join(where))
def test_every_private_name_the_fence_uses_still_exists(where):
    module_name, attribute_path = where
    *owners, name = attribute_path.split(".")
    found = importlib.import_module(module_name)
    for owner in owners:
        found = getattr(found, owner)
    if hasattr(found, name):
        return
    # An instance attribute: one of the class's own (or its bases') methods sets it.
    assert inspect.isclass(found), f"{module_name}.{attribute_path} is gone"
    assigned = re.compile(rf"self\.{name}\s*(:[^=\n]+)?=")
    assert any(
        assigned.search(inspect.getsource(base))
        for base in found.__mro__
        if base.__module__.split(".")[0] in ("connexion", "werkzeug")
    ), f"{module_name}.{attribute_path} is gone"


def test_docs_are_served_behind_a_root_path(app):
    """app/framework/operations.py DocsMiddleware: a path that can be the docs' reaches their
    router also when a proxy mounts the app under a prefix."""
    with TestClient(app, root_path="/prefix") as client:
        assert client.get("/prefix/api/v3/openapi.json").json()["openapi"] == "3.0.3"
        assert "swagger-ui" in client.get("/prefix/api/v3/ui/").text
        listed = client.get("/prefix/api/v3/sources/plex/", headers=AUTH)
        assert listed.json()["pagination"]["count"] == 0


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
