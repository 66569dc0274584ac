"""Anonymous callers' rate, as DRF's AnonRateThrottle applies it in authentik
(docs/behaviour.md §1): per client address, a sliding window of `N/period` calls,
counted in this process."""

import math
import threading
import time
from collections import deque

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
THROTTLED = "Request was throttled. Expected available in {wait} second{s}."


def parse_rate(rate: str) -> tuple[int, int]:
    """`1000/second` (DRF's notation: the period's first letter counts) as (calls,
    seconds); ValueError when it is not one."""
    count, _, period = rate.partition("/")
    if not count.strip().isdigit() or period[:1] not in PERIODS:
        raise ValueError(f"{rate!r} is not a rate such as 1000/second or 20/minute")
    return int(count), PERIODS[period[0]]


class RateThrottle:
    """At most `calls` per `seconds` for each key; the wait before the next call."""

    def __init__(self, rate: str, max_keys: int = 100_000):
        self.calls, self.seconds = parse_rate(rate)
        self.max_keys = max_keys
        self._history: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str, now: float | None = None) -> float | None:
        """None when the call may go ahead (and is counted); otherwise the seconds until
        it may, as DRF reckons them."""
        now = time.monotonic() if now is None else now
        with self._lock:
            history = self._history.get(key)
            if history is None:
                if len(self._history) >= self.max_keys:
                    self._forget_idle(now)
                history = self._history[key] = deque()
            while history and history[-1] <= now - self.seconds:
                history.pop()
            if len(history) < self.calls:
                history.appendleft(now)
                return None
            # Until the oldest call in the window leaves it.
            return self.seconds - (now - history[-1])

    def _forget_idle(self, now: float) -> None:
        """Bounds memory: drop every key whose window is empty (or, failing that, all)."""
        idle = [k for k, h in self._history.items() if not h or h[0] <= now - self.seconds]
        for key in idle or list(self._history):
            del self._history[key]


def throttled_message(wait: float) -> tuple[str, int]:
    """DRF's message for a throttled call, and the Retry-After seconds."""
    seconds = max(1, math.ceil(wait))
    return THROTTLED.format(wait=seconds, s="" if seconds == 1 else "s"), seconds


def client_address(scope: dict, trusted_proxies: int) -> str:
    """The caller's address: the connection's peer, or with `trusted_proxies` proxies in
    front, the X-Forwarded-For entry the nearest untrusted hop wrote (DRF's NUM_PROXIES)."""
    peer = (scope.get("client") or ("",))[0]
    if trusted_proxies <= 0:
        return peer
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", [])
        if name.lower() == b"x-forwarded-for"
    ]
    hops = [hop.strip() for hop in ",".join(forwarded).split(",") if hop.strip()]
    return hops[-min(trusted_proxies, len(hops))] if hops else peer
