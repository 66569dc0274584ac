"""models/sources.py: what a stored source, flow or mapping looks like on the wire."""

import re
import string
from collections import Counter

from models.sources import (
    Flow,
    PlexSource,
    file_url,
    flow_api,
    generate_client_id,
    source_api,
    themed_urls,
)


def test_client_ids_are_40_random_letters_and_digits():
    ids = {generate_client_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9]{40}", i) for i in ids)


def test_client_id_characters_are_drawn_evenly():
    """80,000 characters: each of the 62 is expected about 1,290 times (standard
    deviation about 36); a bias of the modulo kind (some characters 5/4 as likely as
    the others) would put some beyond 1,550."""
    drawn = Counter("".join(generate_client_id() for _ in range(2000)))
    assert set(drawn) == set(string.ascii_letters + string.digits)
    assert max(drawn.values()) < 1550 and min(drawn.values()) > 1030


def test_file_urls():
    assert file_url("", "/default.svg") == "/default.svg"
    assert file_url("https://x/y.svg", "/d") == "https://x/y.svg"
    assert file_url("/static/a.svg", "/d") == "/static/a.svg"
    assert file_url("icons/a.svg", "/d") == "/media/icons/a.svg"


def test_themed_urls_only_with_the_placeholder():
    assert themed_urls("a.svg", "/media/a.svg") is None
    assert themed_urls("a-%(theme)s.svg", "/media/a-%(theme)s.svg") == {
        "light": "/media/a-light.svg",
        "dark": "/media/a-dark.svg",
    }


def test_source_representation_in_serializer_order():
    source = PlexSource(
        name="Plex", slug="plex", plex_token="t", client_id="c", icon="", allowed_servers=[],
        enabled=True, promoted=False, policy_engine_mode="any", user_matching_mode="identifier",
        group_matching_mode="identifier", user_path_template="p", allow_friends=True,
    )  # fmt: skip
    api = source_api(source, [], [])
    assert list(api)[:5] == ["pk", "name", "slug", "enabled", "promoted"]
    assert list(api)[-3:] == ["allowed_servers", "allow_friends", "plex_token"]
    assert api["icon_url"] == "/static/authentik/sources/plex.svg"
    assert api["icon_themed_urls"] is None


def test_flow_representation():
    flow = Flow(name="F", slug="f", title="t", designation="enrollment", background="")
    api = flow_api(flow)
    assert api["export_url"] == "/api/v3/flows/instances/f/export/"
    assert api["background_url"] == "/static/dist/assets/images/flow_background.jpg"
    assert (api["stages"], api["policies"], api["cache_count"]) == ([], [], 0)
