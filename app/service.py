"""What surrounds the API for the people who run it (README, "Operating"): the request
log with request ids, Prometheus metrics, the health probes and authentik's addresses
for the API browser and the schema. Outside `/api/v3`'s spec, in front of everything."""

import functools
import json
import logging
import os
import re
import secrets
import time

import yaml
from connexion.middleware.abstract import ROUTING_CONTEXT
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from app.auth import identity_in
from app.concurrency import in_worker_thread
from app.logs import REQUEST_ID
from models.store import Store

logger = logging.getLogger("app.requests")
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# The methods metrics name; any other a client sends counts as "other", so that clients
# cannot add label sets without end.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})

REQUESTS = Counter("plex_api_requests", "Answered requests", ["operation", "method", "status"])
LATENCY = Histogram(
    "plex_api_request_seconds", "Time from request to answer", ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)  # fmt: skip
PLEX_CALLS = Counter("plex_api_plex_logins", "Logins' calls to plex.tv, by outcome", ["outcome"])
POOL_IN_USE = Gauge(
    "plex_api_database_connections_in_use", "Database connections checked out",
    multiprocess_mode="livesum",
)  # fmt: skip


class OperatorMiddleware:
    """Outermost: answers the probe, metrics and address paths itself; for every other
    request, a request id (from `X-Request-ID` when sent and safe, else new) in the
    answer's header and in every log line of the request, then one log line and the
    metrics once the answer has gone."""

    def __init__(self, app, store: Store, spec: dict, docs_path: str):
        self.app = app
        self.store = store
        self.spec = spec
        self.docs_path = docs_path

    # Written on first request, not at every start: most processes are never asked.
    @functools.cached_property
    def spec_json(self) -> bytes:
        return json.dumps(_without_implementation(self.spec)).encode()

    @functools.cached_property
    def spec_yaml(self) -> bytes:
        public = _without_implementation(self.spec)
        return yaml.safe_dump(public, sort_keys=False, allow_unicode=True).encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", ""))  # behind a proxy
        if path in ("/", "/api/v3", "/api/v3/"):
            location = scope.get("root_path", "") + self.docs_path
            return await _answer(send, 302, b"", [(b"location", location.encode())])
        if path == "/api/v3/schema/":
            return await self._schema(scope, send)
        if path == "/api/v3/openapi.json":  # Connexion's, less our implementation details
            return await _answer(send, 200, self.spec_json, content_type=b"application/json")
        if path == "/-/health/live/":
            return await _answer(send, 200, b"")
        if path == "/-/health/ready/":
            return await self._ready(send)
        if path == "/-/metrics/":
            return await self._metrics(send)
        await self._logged(scope, receive, send)

    async def _logged(self, scope, receive, send):
        # Connexion's routing writes the operation into a shallow copy of the scope: into
        # this same `extensions` dict only if it exists already (a server may leave it out).
        extensions = scope.setdefault("extensions", {})
        sent = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        # 32 random hex digits, as a UUID4's hex has (less its 6 fixed bits) at a
        # quarter of the cost.
        request_id = sent if _SAFE_REQUEST_ID.fullmatch(sent) else secrets.token_hex(16)
        token = REQUEST_ID.set(request_id)
        started, status = time.perf_counter(), 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            operation = extensions.get(ROUTING_CONTEXT, {}).get("operation_id") or "unrouted"
            operation = operation.rpartition(".")[2]
            identity = identity_in(extensions.get("connexion_context", {}))
            method = scope["method"] if scope["method"] in _METHODS else "other"
            answered, latency = _metrics_of(operation, method, status)
            answered.inc()
            latency.observe(seconds)
            logger.info(
                "%s %s %s", scope["method"], operation, status,
                extra={"method": scope["method"], "path": scope["path"], "operation": operation,
                       "status": status, "duration_ms": round(seconds * 1000, 1),
                       "user": identity.username if identity else None},
            )  # fmt: skip
            REQUEST_ID.reset(token)

    async def _schema(self, scope, send):
        query = scope.get("query_string", b"").decode("latin-1")
        accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
        if "format=json" in query.split("&") or accept.startswith("application/json"):
            return await _answer(send, 200, self.spec_json, content_type=b"application/json")
        return await _answer(
            send, 200, self.spec_yaml, content_type=b"application/vnd.oai.openapi; charset=utf-8"
        )

    async def _ready(self, send):
        problem = await in_worker_thread(self.store.unreachable)
        if problem is None:
            return await _answer(send, 200, b"")
        body = json.dumps({"detail": f"The database cannot be reached: {problem}"}).encode()
        return await _answer(send, 503, body, content_type=b"application/json")

    async def _metrics(self, send):
        POOL_IN_USE.set(self.store.connections_in_use())
        return await _answer(send, 200, _latest(), content_type=CONTENT_TYPE_LATEST.encode())


@functools.lru_cache(maxsize=1024)
def _metrics_of(operation: str, method: str, status: int):
    """The request counter and latency histogram of these labels: found once, not on
    every request (prometheus_client's own lookup takes a lock and builds the key)."""
    return REQUESTS.labels(operation, method, str(status)), LATENCY.labels(operation)


def _latest() -> bytes:
    """This process's metrics, or every worker's in multi-process mode."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


async def _answer(send, status: int, body: bytes, headers=(), content_type: bytes | None = None):
    all_headers = [(b"content-length", str(len(body)).encode()), *headers]
    if content_type:
        all_headers.append((b"content-type", content_type))
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


def _without_implementation(spec: dict) -> dict:
    """The spec as clients get it: no `x-bearerInfoFunc` (a Python path of ours)."""
    public = json.loads(json.dumps(spec))
    for scheme in public.get("components", {}).get("securitySchemes", {}).values():
        scheme.pop("x-bearerInfoFunc", None)
    return public


def record_plex_outcome(outcome: str) -> None:
    PLEX_CALLS.labels(outcome).inc()
