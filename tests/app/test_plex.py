"""app/plex.py: the calls to plex.tv, against the loopback plex.tv, and the checks made
of their answers."""

import pytest

from app.plex import PlexAPI, PlexRejected, PlexUnavailable, friends_allowed, servers_allowed
from tests.fake_plex import OWNER_ID, RESOURCES


def api(fake, token="owner", timeout=1.0) -> PlexAPI:
    return PlexAPI(fake.url, "client-1", token, timeout)


def test_the_token_travels_in_a_header_on_one_kept_connection(fake_plex):
    fake_plex.add_account("owner", id=OWNER_ID, resources=RESOURCES)
    info, identifier = api(fake_plex).user_info()
    assert identifier == OWNER_ID and info["username"] == "username"
    assert [r["clientIdentifier"] for r in api(fake_plex).resources()] == ["allowed", "denied"]
    first, second = fake_plex.requests
    for request in (first, second):
        assert request["query"] == {}
        assert request["headers"]["X-Plex-Token"] == "owner"
        assert request["headers"]["X-Plex-Client-Identifier"] == "client-1"
    assert first["client_port"] == second["client_port"]  # one pooled connection


@pytest.mark.parametrize(
    ("failure", "error", "message"),
    [
        (401, PlexRejected, "plex.tv answered 401 to /api/v2/user"),
        (500, PlexUnavailable, "plex.tv answered 500 to /api/v2/user"),
        ("hang", PlexUnavailable, "plex.tv did not answer /api/v2/user within 0.5s"),
    ],
)
def test_failures_are_described_by_status_alone(fake_plex, failure, error, message):
    fake_plex.add_account("owner", id=OWNER_ID)
    fake_plex.hang_seconds = 1.5
    fake_plex.fail("owner", "user", failure)
    with pytest.raises(error) as failed:
        api(fake_plex, timeout=0.5).user_info()
    assert str(failed.value) == message


def test_an_unreachable_plex_tv_is_unavailable():
    with pytest.raises(PlexUnavailable, match=r"could not be reached \(ConnectError\)"):
        PlexAPI("http://127.0.0.1:9", "c", "owner", 1.0).user_info()


@pytest.mark.parametrize("token", ["tök", "a\nb", "a\x00"])
def test_a_token_no_header_can_carry_is_refused_unsent(fake_plex, token):
    with pytest.raises(PlexRejected):
        api(fake_plex, token=token).user_info()
    assert fake_plex.requests == []


@pytest.mark.parametrize(
    ("provides", "allowed", "passes"),
    [
        ("server", [], True),
        ("client,player", [], False),
        ("client, server", ["s1"], True),
        ("server", ["elsewhere"], False),
    ],
)
def test_the_server_check(provides, allowed, passes):
    resources = [{"clientIdentifier": "s1", "provides": provides}]
    assert servers_allowed(resources, allowed) is passes


def test_the_friends_check_and_its_failing_closed(fake_plex):
    fake_plex.add_account("owner", id=OWNER_ID, friends=[{"id": 5}, {"id": "6"}])
    assert friends_allowed(api(fake_plex), OWNER_ID)  # the owner
    assert friends_allowed(api(fake_plex), 6)
    assert not friends_allowed(api(fake_plex), 7)
    fake_plex.fail("owner", "friends", 500)
    assert not friends_allowed(api(fake_plex), 6)
