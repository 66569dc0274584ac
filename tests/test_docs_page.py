"""The docs page works offline: Swagger UI, served entirely by this server, opened in a
real headless Chromium, lists every operation and makes an authorised call."""

import json
import os
import shutil

import pytest
import yaml
from connexion.json_schema import resolve_refs

from app.main import SPEC_PATH
from tests.helpers import TOKEN, spec_operations

CHROMIUM = shutil.which("chromium")
# Without a network, Chromium's own background traffic only slows it down.
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)


@pytest.mark.parametrize("flavour", ["async"])
def test_swagger_ui_lists_every_operation_and_tries_one(server, api):
    from playwright.sync_api import sync_playwright

    api.post("/sources/plex/", json={"name": "Home", "slug": "home", "plex_token": "t"})
    declared = set(spec_operations().values())
    foreign = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.on(
                "request",
                lambda request: (
                    None if request.url.startswith(server) else foreign.append(request.url)
                ),
            )
            page.goto(f"{server}/api/v3/ui/")
            page.wait_for_selector(".opblock", timeout=20_000)
            listed = {
                (
                    block.locator(".opblock-summary-method").inner_text().strip(),
                    block.locator(".opblock-summary-path").get_attribute("data-path"),
                )
                for block in page.locator(".opblock").all()
            }
            assert listed == declared

            page.click(".auth-wrapper button.authorize")
            page.fill(".modal-ux input", TOKEN)
            page.click(".modal-ux .auth-btn-wrapper button.authorize")
            page.click(".modal-ux button.btn-done")

            operation = page.locator("#operations-sources-sources_plex_list")
            operation.locator(".opblock-summary").click()
            operation.locator("button.try-out__btn").click()
            operation.locator("button.execute").click()
            status = operation.locator(".live-responses-table tbody .response-col_status").first
            status.wait_for(timeout=20_000)
            assert status.inner_text().strip() == "200"
            body = operation.locator(".live-responses-table .microlight").first.inner_text()
            assert '"slug": "home"' in body

            # "Try it out" on create starts from the spec's example, which is accepted.
            create = page.locator("#operations-sources-sources_plex_create")
            create.locator(".opblock-summary").click()
            create.locator("button.try-out__btn").click()
            prefilled = json.loads(create.locator("textarea.body-param__text").input_value())
            assert prefilled == _create_example()
            create.locator("button.execute").click()
            status = create.locator(".live-responses-table tbody .response-col_status").first
            status.wait_for(timeout=20_000)
            assert status.inner_text().strip() == "201"
        finally:
            browser.close()
    assert foreign == []  # nothing fetched from anywhere but this server


def _create_example() -> dict:
    """The example the spec gives for a source's create body."""
    spec = resolve_refs(yaml.safe_load(SPEC_PATH.read_text()))
    media = spec["paths"]["/sources/plex/"]["post"]["requestBody"]["content"]["application/json"]
    if "example" in media:
        return media["example"]
    if "examples" in media:
        return next(iter(media["examples"].values()))["value"]
    return media["schema"]["example"]
