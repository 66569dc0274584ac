"""The calls authentik makes to plex.tv, against PLEX_API_URL, each with a timeout.

A token is sent as the `X-Plex-Token` query parameter, as authentik sends it, and never
appears in a log line or an error message: failures are described by status alone.
"""

import logging
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
        params = {"X-Plex-Token": self.token, "X-Plex-Client-Identifier": self.client_id}
        try:
            response = httpx.get(
                self.base_url.rstrip("/") + path,
                params=params,
                headers=HEADERS,
                timeout=self.timeout,
            )
        except httpx.TimeoutException:
            raise PlexUnavailable(
                f"plex.tv did not answer {path} within {self.timeout:g}s"
            ) from None
        except httpx.HTTPError as error:
            # The message of a transport error can carry the URL, and so the token.
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
    """The server check (CONTRACT): a resource is a server when `server` is one of the
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
