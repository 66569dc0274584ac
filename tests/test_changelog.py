"""The spec's version is ours, and every version has its changelog entry."""

import re

import yaml

from app.main import SPEC_PATH
from tests.server import ROOT


def test_the_spec_version_has_a_changelog_entry():
    info = yaml.safe_load(SPEC_PATH.read_text())["info"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", info["version"])  # semantic versioning
    assert info["x-authentik-version"] in info["description"].replace("\n", " ")
    headings = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert headings and headings[0] == info["version"]  # the newest entry is this version


def test_the_served_specs_leave_out_python_paths(anon):
    for path in ("/openapi.json", "/schema/?format=json"):
        served = anon.get(path)
        assert served.status_code == 200
        assert "x-bearerInfoFunc" not in served.text
        assert (
            served.json()["info"]["version"]
            == yaml.safe_load(SPEC_PATH.read_text())["info"]["version"]
        )
