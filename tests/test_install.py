"""The package installs and serves outside the checkout: the wheel built from this tree,
installed in a fresh virtual environment, serves a fresh SQLite file (migrated at start)
from a directory that has nothing of the checkout in it."""

import subprocess
import sys

import httpx

from tests.helpers import AUTH, TOKEN
from tests.server import ROOT, started_server


def test_the_wheel_serves_from_a_fresh_virtual_environment(tmp_path):
    wheels, venv, elsewhere = tmp_path / "wheels", tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(wheels), str(ROOT)], check=True)  # fmt: skip
    (wheel,) = wheels.glob("plex_source_api-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "--constraint", str(ROOT / "requirements.lock"), str(wheel)],
                   check=True, cwd=elsewhere)  # fmt: skip
    database = elsewhere / "fresh.sqlite3"
    with started_server(
        f"sqlite:///{database}", TOKEN, command=(str(venv / "bin" / "plex-api"), "serve"),
        migrate=False, cwd=elsewhere,
    ) as (base, _process):  # fmt: skip
        created = httpx.post(f"{base}/api/v3/sources/plex/", headers=AUTH,
                             json={"name": "Home", "slug": "home", "plex_token": "t"})  # fmt: skip
        listed = httpx.get(f"{base}/api/v3/sources/plex/", headers=AUTH)
    assert created.status_code == 201, created.text
    assert [source["slug"] for source in listed.json()["results"]] == ["home"]
    users = subprocess.run(
        [str(venv / "bin" / "plex-admin"), "user", "list"], cwd=elsewhere, capture_output=True,
        text=True, env={"DATABASE_URL": f"sqlite:///{database}", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert users.returncode == 0, users.stderr
    assert users.stdout.startswith("akadmin")
