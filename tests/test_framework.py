"""app/framework: Connexion extended behind one fence, for one Connexion series."""

import importlib
import inspect
import re
import subprocess
import sys
from importlib.metadata import version

import pytest

from app.framework import (
    PRIVATE_NAMES,
    SUPPORTED_SERIES,
    UnsupportedConnexion,
    check_connexion_version,
)


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
