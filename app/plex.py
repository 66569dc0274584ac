"""The calls authentik makes to plex.tv, against PLEX_API_URL, each with a timeout.

A token travels in the `X-Plex-Token` header (plex.tv reads it there as well as in the
query string), never in a URL: URLs are what HTTP libraries log. It never appears in a
log line or an error message either: failures are described by status alone.
"""

import logging
import re
import threading
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
_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _shared_client() -> httpx.Client:
    """One connection pool per process, kept alive between calls to plex.tv."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(headers=HEADERS, follow_redirects=False)
        return _client


class PlexRejected(Exception):
    """plex.tv answered 4xx: the token is not good (expired, revoked, wrong)."""


class PlexUnavailable(Exception):
    """plex.tv could not be reached, was too slow, or answered 5xx."""


@dataclass(frozen=True)
class PlexAPI:
    base_url: str
    client_id: str
    token: str
    timeout: float

    def _get(self, path: str):
        if not _PRINTABLE_ASCII.fullmatch(self.token):
            # No header can carry it, so no Plex account has it.
            raise PlexRejected("the token has characters an HTTP header cannot carry")
        headers = {"X-Plex-Token": self.token, "X-Plex-Client-Identifier": self.client_id}
        try:
            response = _shared_client().get(
                self.base_url.rstrip("/") + path, headers=headers, timeout=self.timeout
            )
        except httpx.TimeoutException:
            raise PlexUnavailable(
                f"plex.tv did not answer {path} within {self.timeout:g}s"
            ) from None
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

    def user_info(self) -> tuple[dict, int]:
        """The Plex account the token belongs to, and its numeric id."""
        info = self._get("/api/v2/user")
        if not isinstance(info, dict) or not isinstance(info.get("id"), int):
            raise PlexUnavailable("plex.tv answered /api/v2/user without an account id")
        return info, info["id"]

    def resources(self) -> list[dict]:
        resources = self._get("/api/v2/resources")
        return [r for r in resources if isinstance(r, dict)] if isinstance(resources, list) else []

    def friends(self) -> list[dict]:
        friends = self._get("/api/v2/friends")
        return [f for f in friends if isinstance(f, dict)] if isinstance(friends, list) else []


def servers_allowed(resources: list[dict], allowed_servers: list[str]) -> bool:
    """The server check (docs/behaviour.md §7): a resource is a server when `server` is one of the
    comma-separated values of `provides`; an empty allow-list accepts any server."""
    servers = [
        r.get("clientIdentifier")
        for r in resources
        if "server" in [p.strip() for p in str(r.get("provides", "")).split(",")]
    ]
    if not allowed_servers:
        return bool(servers)
    return any(server in allowed_servers for server in servers)


def friends_allowed(owner: PlexAPI, identifier: int) -> bool:
    """The friends check: the owner of the source's token is always allowed, its friends
    are; when plex.tv cannot tell, nobody is (fails closed)."""
    try:
        _, owner_id = owner.user_info()
        if owner_id == identifier:
            return True
        friends = owner.friends()
    except (PlexRejected, PlexUnavailable) as error:
        logger.warning("Unable to fetch Plex friends: %s", error)
        return False
    return any(_as_int(friend.get("id")) == identifier for friend in friends)


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
