"""The tests mirror the code: each module of app/ and models/ has its test module."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(
    path
    for package in ("app", "models")
    for path in (ROOT / package).iterdir()
    if (path.suffix == ".py" and not path.name.startswith("__")) or (path / "__init__.py").exists()
    if path.name != "migrations"
)


@pytest.mark.parametrize("module", MODULES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_every_module_has_its_test_module(module):
    assert (ROOT / "tests" / module.parent.name / f"test_{module.stem}.py").exists()
