"""app/plex.py: the calls to plex.tv, against the loopback plex.tv, and the checks made
of their answers."""

import asyncio
import threading

import pytest

from app.plex import (
    PlexBusy,
    PlexRejected,
    PlexTV,
    PlexUnavailable,
    friends_allowed,
    servers_allowed,
)
from tests.fake_plex import OWNER_ID, RESOURCES


def in_session(url: str, calls, timeout: float = 10.0, capacity: int = 4):
    """`calls(api)` in one session of a fresh PlexTV, on a fresh event loop."""

    async def run():
        plex = PlexTV(url, timeout, capacity, pooled=True)
        try:
            async with plex.session() as api:
                return await calls(api)
        finally:
            await plex.aclose()

    return asyncio.run(run())


def test_the_token_travels_in_a_header_on_one_kept_connection(fake_plex):
    fake_plex.add_account("owner", id=OWNER_ID, resources=RESOURCES)

    async def calls(api):
        owner = api("client-1", "owner")
        return await owner.user_info(), await owner.resources()

    (info, identifier), resources = in_session(fake_plex.url, calls)
    assert identifier == OWNER_ID and info["username"] == "username"
    assert [r["clientIdentifier"] for r in resources] == ["allowed", "denied"]
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
        ("hang", PlexUnavailable, "plex.tv did not answer within 0.5s"),
        ("drip", PlexUnavailable, "plex.tv did not answer within 0.5s"),
    ],
)
def test_failures_are_described_by_status_alone(fake_plex, failure, error, message):
    fake_plex.add_account("owner", id=OWNER_ID)
    fake_plex.hang_seconds = 1.5
    fake_plex.fail("owner", "user", failure)
    with pytest.raises(error) as failed:
        in_session(fake_plex.url, lambda api: api("c", "owner").user_info(), timeout=0.5)
    assert str(failed.value) == message


def test_an_unreachable_plex_tv_is_unavailable():
    with pytest.raises(PlexUnavailable, match=r"could not be reached \(ConnectError\)"):
        in_session("http://127.0.0.1:9", lambda api: api("c", "owner").user_info())


@pytest.mark.parametrize("token", ["tök", "a\nb", "a\x00"])
def test_a_token_no_header_can_carry_is_refused_unsent(fake_plex, token):
    with pytest.raises(PlexRejected):
        in_session(fake_plex.url, lambda api: api("c", token).user_info())
    assert fake_plex.requests == []


def test_a_full_plex_tv_is_busy_at_once(fake_plex):
    """With every slot held, another session is refused without waiting."""
    fake_plex.add_account("owner", id=OWNER_ID)
    fake_plex.hang_seconds = 2.0
    fake_plex.fail("owner", "user", "hang")

    async def run():
        plex = PlexTV(fake_plex.url, 5.0, capacity=1)

        async def held():
            async with plex.session() as api:
                await api("c", "owner").user_info()

        holder = asyncio.create_task(held())
        await asyncio.sleep(0.2)
        with pytest.raises(PlexBusy):
            async with plex.session():
                pass
        held_while_refused = not holder.done()  # refused without waiting for the slot
        await holder
        async with plex.session():  # the slot is free again
            pass
        await plex.aclose()
        return held_while_refused

    assert asyncio.run(run()) is True


def test_a_call_from_another_event_loop_gets_its_own_client(fake_plex):
    fake_plex.add_account("owner", id=OWNER_ID)
    plex = PlexTV(fake_plex.url, 1.0, capacity=4, pooled=True)

    async def call():
        async with plex.session() as api:
            return (await api("c", "owner").user_info())[1]

    async def first():
        try:
            return await call()  # the shared client is made on this loop
        finally:
            await plex.aclose()

    assert asyncio.run(first()) == OWNER_ID
    results = []
    thread = threading.Thread(target=lambda: results.append(asyncio.run(call())))
    thread.start()
    thread.join(timeout=10)
    assert results == [OWNER_ID]


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

    def allowed(identifier):
        return in_session(fake_plex.url, lambda api: friends_allowed(api("c", "owner"), identifier))

    assert allowed(OWNER_ID)  # the owner
    assert allowed(6)
    assert not allowed(7)
    fake_plex.fail("owner", "friends", 500)
    assert not allowed(6)
