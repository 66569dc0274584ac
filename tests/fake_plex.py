"""A real HTTP server on loopback that plays plex.tv, with authentik's test fixtures
(docs/behaviour.md §8) and scripted failures."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

OWNER_ID = 1234123419
USER_INFO = {
    "id": OWNER_ID,
    "uuid": "qwerqewrqewrqwr",
    "username": "username",
    "title": "title",
    "email": "foo@bar.baz",
}
RESOURCES = [
    {"name": "allowed", "clientIdentifier": "allowed", "provides": "server", "owned": True},
    {"name": "denied", "clientIdentifier": "denied", "provides": "server", "owned": True},
]


class FakePlex:
    """Accounts by token: each has user info, resources and friends, or a failure
    (an HTTP status; "hang" to answer after the client has given up; "drip" to send
    the headers a byte at a time, never finishing)."""

    def __init__(self):
        self.accounts: dict[str, dict] = {}
        self.failures: dict[tuple[str, str], int | str] = {}
        self.requests: list[dict] = []
        self.hang_seconds = 3.0
        self.drip_seconds = 0.2
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def add_account(self, token, *, id, resources=(), friends=(), **info):  # noqa: A002
        self.accounts[token] = {
            "user": {**USER_INFO, "id": id, **info},
            "resources": list(resources),
            "friends": list(friends),
        }

    def fail(self, token: str, path: str, how: int | str) -> None:
        """Make `path` (`user`, `resources`, `friends`) fail for `token`."""
        self.failures[(token, path)] = how

    def reset(self) -> None:
        self.hang_seconds, self.drip_seconds = 3.0, 0.2
        self.accounts.clear()
        self.failures.clear()
        self.requests.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps connections alive, as plex.tv does

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                token = self.headers.get("X-Plex-Token", "")
                name = url.path.removeprefix("/api/v2/")
                request = {
                    "path": url.path,
                    "query": query,
                    "headers": dict(self.headers),
                    "client_port": self.client_address[1],
                }
                fake.requests.append(request)
                failure = fake.failures.get((token, name))
                if failure == "drip":
                    # Headers one byte at a time: each read is quick, the answer is not.
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n":
                        time.sleep(fake.drip_seconds)
                        try:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                        except (BrokenPipeError, ConnectionResetError):
                            self.close_connection = True
                            return None
                    self.close_connection = True
                    return None
                if failure == "hang":
                    time.sleep(fake.hang_seconds)
                    request["answered_after_hang"] = True
                    failure = 200 if token in fake.accounts else 401
                if isinstance(failure, int) and failure >= 400:
                    return self._answer(failure, {"error": "scripted"})
                account = fake.accounts.get(token)
                if account is None:
                    return self._answer(
                        401,
                        {"errors": [{"code": 1001, "message": "User could not be authenticated"}]},
                    )
                if name not in account:
                    return self._answer(404, {})
                return self._answer(200, account[name])

            def _answer(self, status, body):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up waiting (a hang)

        return Handler
