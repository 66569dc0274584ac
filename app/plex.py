"""The calls authentik makes to plex.tv, against PLEX_API_URL (docs/behaviour.md §8).

A token travels in the `X-Plex-Token` header (plex.tv reads it there as well as in the
query string), never in a URL: URLs are what HTTP libraries log. It never appears in a
log line or an error message either: failures are described by status alone.

Calls are asynchronous, on the event loop, so that a slow plex.tv holds no worker thread
the store and the token checks need. `PlexTV.session` is one login's budget: a slot
among `capacity` (none free: PlexBusy at once, not a queue) and one deadline for all the
calls made in it, which also holds against a server that sends its answer byte by byte.
"""

import asyncio
import logging
import re
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

logger = logging.getLogger("app.plex")

VERSION = "2026.8.5"
HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "X-Plex-Product": "authentik",
    "X-Plex-Version": VERSION,
    "X-Plex-Device-Vendor": "goauthentik.io",
}
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")


class PlexRejected(Exception):
    """plex.tv answered 4xx: the token is not good (expired, revoked, wrong)."""


class PlexUnavailable(Exception):
    """plex.tv could not be reached, was too slow, or answered 5xx."""


class PlexBusy(Exception):
    """Every slot for calls to plex.tv is taken: try again shortly."""


@dataclass(frozen=True)
class PlexAPI:
    """plex.tv as one token sees it."""

    client: httpx.AsyncClient
    base_url: str
    client_id: str
    token: str

    async def _get(self, path: str):
        if not _PRINTABLE_ASCII.fullmatch(self.token):
            # No header can carry it, so no Plex account has it.
            raise PlexRejected("the token has characters an HTTP header cannot carry")
        headers = {"X-Plex-Token": self.token, "X-Plex-Client-Identifier": self.client_id}
        try:
            response = await self.client.get(self.base_url.rstrip("/") + path, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            # Described by its type alone: a library's message is not ours to vouch for.
            raise PlexUnavailable(
                f"plex.tv could not be reached ({type(error).__name__})"
            ) from None
        if response.status_code >= 500:
            raise PlexUnavailable(f"plex.tv answered {response.status_code} to {path}")
        if response.status_code >= 400:
            raise PlexRejected(f"plex.tv answered {response.status_code} to {path}")
        try:
            return response.json()
        except ValueError:
            raise PlexUnavailable(
                f"plex.tv answered {path} with something other than JSON"
            ) from None

    async def user_info(self) -> tuple[dict, int]:
        """The Plex account the token belongs to, and its numeric id."""
        info = await self._get("/api/v2/user")
        if not isinstance(info, dict) or not isinstance(info.get("id"), int):
            raise PlexUnavailable("plex.tv answered /api/v2/user without an account id")
        return info, info["id"]

    async def resources(self) -> list[dict]:
        resources = await self._get("/api/v2/resources")
        return [r for r in resources if isinstance(r, dict)] if isinstance(resources, list) else []

    async def friends(self) -> list[dict]:
        friends = await self._get("/api/v2/friends")
        return [f for f in friends if isinstance(f, dict)] if isinstance(friends, list) else []


class PlexTV:
    """plex.tv for this process, at most `capacity` sessions at once. `pooled`: one
    client, its connections kept alive, on the event loop that first uses it, for a
    server whose loop lives as long as the process (a call from another loop gets a
    client of its own). Otherwise each session has its own client (the Flask flavour
    and test clients run a loop per request or per client)."""

    def __init__(self, base_url: str, timeout: float, capacity: int, pooled: bool = False):
        self.base_url = base_url
        self.timeout = timeout
        self.capacity = capacity
        self.pooled = pooled
        self._in_use = 0
        self._lock = threading.Lock()
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Callable[[str, str], PlexAPI]]:
        """A slot and a deadline of `timeout` seconds for one login's calls; yields
        `api(client_id, token)`. PlexBusy when no slot is free; PlexUnavailable when the
        deadline passes."""
        with self._lock:
            if self._in_use >= self.capacity:
                raise PlexBusy("every slot for plex.tv calls is taken")
            self._in_use += 1
        try:
            async with self._client_for_this_loop() as client:
                try:
                    async with asyncio.timeout(self.timeout):
                        yield lambda client_id, token: PlexAPI(
                            client, self.base_url, client_id, token
                        )
                except TimeoutError:
                    raise PlexUnavailable(
                        f"plex.tv did not answer within {self.timeout:g}s"
                    ) from None
        finally:
            with self._lock:
                self._in_use -= 1

    @asynccontextmanager
    async def _client_for_this_loop(self) -> AsyncIterator[httpx.AsyncClient]:
        loop, shared = asyncio.get_running_loop(), None
        with self._lock:
            if self.pooled and self._loop in (None, loop):
                if self._client is None or self._client.is_closed:
                    self._client, self._loop = _new_client(), loop
                shared = self._client
        if shared is not None:
            yield shared
            return
        async with _new_client() as own:
            yield own

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()


def _new_client() -> httpx.AsyncClient:
    # No timeout of its own: the session's deadline bounds every call, whole.
    return httpx.AsyncClient(headers=HEADERS, timeout=None)


def servers_allowed(resources: list[dict], allowed_servers: list[str]) -> bool:
    """The server check (docs/behaviour.md §7): a resource is a server when `server` is
    one of the comma-separated values of `provides`; an empty allow-list accepts any
    server."""
    servers = [
        r.get("clientIdentifier")
        for r in resources
        if "server" in [p.strip() for p in str(r.get("provides", "")).split(",")]
    ]
    if not allowed_servers:
        return bool(servers)
    return any(server in allowed_servers for server in servers)


async def friends_allowed(owner: PlexAPI, identifier: int) -> bool:
    """The friends check: the owner of the source's token is always allowed, its friends
    are; when plex.tv cannot tell, nobody is (fails closed)."""
    try:
        _, owner_id = await owner.user_info()
        if owner_id == identifier:
            return True
        friends = await owner.friends()
    except (PlexRejected, PlexUnavailable) as error:
        logger.warning("Unable to fetch Plex friends: %s", error)
        return False
    return any(_as_int(friend.get("id")) == identifier for friend in friends)


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
