"""app/throttle.py: anonymous callers' rate per address, in DRF's words."""

import pytest

from app.config import Settings
from app.main import create_app
from app.throttle import RateThrottle, client_address, parse_rate, throttled_message
from tests.helpers import AUTH, TOKEN

REDEEM = "/sources/plex/redeem_token/?slug=nothing"


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("1000/second", (1000, 1)), ("20/m", (20, 60)), ("5/hour", (5, 3600)), ("1/day", (1, 86400))],
)
def test_rates_in_drfs_notation(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["fast", "10/week", "/second", "-1/second"])
def test_what_is_not_a_rate(rate):
    with pytest.raises(ValueError, match="is not a rate such as 1000/second"):
        parse_rate(rate)


def test_a_sliding_window_per_key():
    throttle = RateThrottle("3/minute")
    assert [throttle.wait("a", now=t) for t in (0, 10, 20)] == [None, None, None]
    assert throttle.wait("a", now=30) == pytest.approx(30)  # the call at 0 leaves at 60
    assert throttle.wait("b", now=30) is None  # another address has its own window
    assert throttle.wait("a", now=60.5) is None


def test_memory_is_bounded():
    throttle = RateThrottle("1/second", max_keys=10)
    for n in range(100):
        throttle.wait(f"address-{n}", now=n)
    assert len(throttle._history) <= 10


@pytest.mark.parametrize(
    ("wait", "message", "seconds"),
    [
        (0.2, "Request was throttled. Expected available in 1 second.", 1),
        (59.1, "Request was throttled. Expected available in 60 seconds.", 60),
    ],
)
def test_drfs_message(wait, message, seconds):
    assert throttled_message(wait) == (message, seconds)


@pytest.mark.parametrize(
    ("trusted", "forwarded", "address"),
    [
        (0, [b"1.1.1.1"], "10.0.0.9"),  # no proxy trusted: the peer
        (1, [b"1.1.1.1, 2.2.2.2"], "2.2.2.2"),  # what the one proxy saw
        (2, [b"1.1.1.1, 2.2.2.2"], "1.1.1.1"),
        (3, [b"1.1.1.1", b"2.2.2.2"], "1.1.1.1"),  # fewer hops than proxies: the first
        (1, [], "10.0.0.9"),
    ],
)
def test_the_client_address(trusted, forwarded, address):
    scope = {"client": ("10.0.0.9", 5555), "headers": [(b"x-forwarded-for", f) for f in forwarded]}
    assert client_address(scope, trusted) == address


@pytest.mark.parametrize("flavour", ["async", "flask"])
def test_anonymous_calls_past_the_rate_are_429(database_url, flavour):
    settings = Settings(
        database_url=database_url, bootstrap_token=TOKEN, app_flavour=flavour,
        throttle_anon="2/minute", trusted_proxies=1,
    )  # fmt: skip
    app = create_app(settings)
    body = {"plex_token": "t"}
    with app.test_client(base_url="http://testserver/api/v3") as client:
        first = {"X-Forwarded-For": "203.0.113.1"}
        assert [client.post(REDEEM, json=body, headers=first).status_code for _ in "ab"] == [
            404,
            404,
        ]
        throttled = client.post(REDEEM, json=body, headers=first)
        assert throttled.status_code == 429
        assert throttled.json() == {
            "detail": "Request was throttled. Expected available in 60 seconds."
        }
        assert throttled.headers["Retry-After"] == "60"
        # Another address, and any authenticated caller, are not held back.
        other = client.post(REDEEM, json=body, headers={"X-Forwarded-For": "203.0.113.2"})
        assert other.status_code == 404
        assert client.post(REDEEM, json=body, headers={**first, **AUTH}).status_code == 404
        # Operations that need credentials answer 403 before any throttle counts.
        assert client.get("/sources/plex/", headers=first).status_code == 403
    app.store.close()
