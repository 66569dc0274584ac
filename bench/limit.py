"""The limit: Plex sources' create, retrieve and list as the API answers them (the same
compiled validators, the same DRF answers), on bare Starlette with orjson and the
database driver used directly (stdlib sqlite3, hand-written SQL, inline on the event
loop: one indexed query for the key's user, one for the object or for the page and its
count). What a request costs when nothing but the work is done. SQLite and superuser
keys only."""

import hashlib
import os
import sqlite3
import uuid
from datetime import UTC, datetime

import orjson
import yaml
from connexion.json_schema import resolve_refs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import errors
from app.concurrency import limit_malloc_arenas
from app.main import SPEC_PATH, freeze_start_up_heap
from app.pagination import Paginator
from app.validation import CompiledQuery, compiled_body, parse_json
from models.sources import PLEX_ICON_URL, file_url, generate_client_id, themed_urls
from models.store import Store, search_terms

SOURCES_PATH = "/sources/plex/"
COLUMNS = (
    "pbm_uuid, name, slug, enabled, promoted, authentication_flow_id, enrollment_flow_id, "
    "policy_engine_mode, user_matching_mode, managed, user_path_template, icon, "
    "group_matching_mode, client_id, allowed_servers, allow_friends, plex_token"
)
MAPPINGS = "(SELECT group_concat(mapping_pk) FROM {table} WHERE source_pk = s.pbm_uuid)"
SELECT = (
    f"SELECT {COLUMNS}, {MAPPINGS.format(table='source_user_property_mapping')}, "
    f"{MAPPINGS.format(table='source_group_property_mapping')} FROM plex_source s"
)
CALLER = """
SELECT u.is_active, t.expiring, t.expires, EXISTS (
    SELECT 1 FROM user_group ug JOIN "group" g ON g.group_uuid = ug.group_uuid
    WHERE ug.user_id = u.id AND g.is_superuser)
FROM token t JOIN user u ON u.id = t.user_id WHERE t.key_digest = ? AND t.intent = 'api'
"""
ORDERING = {"pk": "pbm_uuid", "name": "name", "slug": "slug", "enabled": "enabled",
            "client_id": "client_id", "policy_engine_mode": "policy_engine_mode"}  # fmt: skip
DEFAULTS = {"enabled": True, "promoted": False, "authentication_flow": None,
            "enrollment_flow": None, "policy_engine_mode": "any",
            "user_matching_mode": "identifier", "user_path_template":
            "goauthentik.io/sources/%(slug)s", "icon": "", "group_matching_mode": "identifier",
            "allowed_servers": [], "allow_friends": True}  # fmt: skip


def _uuid(hex_or_none: str | None) -> str | None:
    return None if hex_or_none is None else str(uuid.UUID(hex_or_none))


def _mapping_list(concatenated: str | None) -> list[str]:
    return sorted(_uuid(pk) for pk in concatenated.split(",")) if concatenated else []


def _represent(row: tuple) -> dict:
    """A source row as the API's PlexSource, in its field order."""
    (pk, name, slug, enabled, promoted, auth_flow, enrol_flow, policy, user_matching,
     managed, path_template, icon, group_matching, client_id, servers, friends, token,
     user_mappings, group_mappings) = row  # fmt: skip
    icon_url = file_url(icon, PLEX_ICON_URL)
    return {
        "pk": _uuid(pk), "name": name, "slug": slug, "enabled": bool(enabled),
        "promoted": bool(promoted), "authentication_flow": _uuid(auth_flow),
        "enrollment_flow": _uuid(enrol_flow),
        "user_property_mappings": _mapping_list(user_mappings),
        "group_property_mappings": _mapping_list(group_mappings),
        "component": "ak-source-plex-form", "verbose_name": "Plex Source",
        "verbose_name_plural": "Plex Sources",
        "meta_model_name": "authentik_sources_plex.plexsource",
        "policy_engine_mode": policy, "user_matching_mode": user_matching, "managed": managed,
        "user_path_template": path_template, "icon": icon, "icon_url": icon_url,
        "icon_themed_urls": themed_urls(icon, icon_url), "group_matching_mode": group_matching,
        "client_id": client_id, "allowed_servers": orjson.loads(servers),
        "allow_friends": bool(friends), "plex_token": token,
    }  # fmt: skip


def _json(body, status: int) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def create_app() -> Starlette:
    limit_malloc_arenas()  # as the API's server does
    # Start-up, as the API's: the bootstrap key exists (through the store, once).
    store = Store(os.environ["DATABASE_URL"])
    store.ensure_bootstrap_token(os.environ["BOOTSTRAP_TOKEN"])
    store.close()
    database = os.environ["DATABASE_URL"].removeprefix("sqlite:///")
    db = sqlite3.connect(database, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                   "busy_timeout=10000", "cache_size=-16000"):  # fmt: skip
        db.execute(f"PRAGMA {pragma}")
    spec = resolve_refs(yaml.safe_load(SPEC_PATH.read_text()))
    body_schema = compiled_body(spec["components"]["schemas"]["PlexSourceRequest"])
    list_query = CompiledQuery(spec["paths"][SOURCES_PATH]["get"]["parameters"])

    def authenticate(request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            raise errors.detail(403, errors.NOT_AUTHENTICATED)
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        row = db.execute(CALLER, (digest,)).fetchone()
        if row is None or not row[0]:
            raise errors.detail(403, errors.TOKEN_INVALID)
        active, expiring, expires, superuser = row
        if expiring and expires is not None:
            moment = datetime.fromisoformat(expires).replace(tzinfo=UTC)
            if moment <= datetime.now(UTC):
                raise errors.detail(403, errors.TOKEN_INVALID)
        if not superuser:  # only what the bench uses
            raise errors.detail(403, errors.PERMISSION_DENIED)

    async def retrieve(request: Request) -> Response:
        authenticate(request)
        row = db.execute(SELECT + " WHERE slug = ?", (request.path_params["slug"],)).fetchone()
        if row is None:
            raise errors.detail(404, "No PlexSource matches the given query.")
        return _json(_represent(row), 200)

    async def listing(request: Request) -> Response:
        authenticate(request)
        query, problems = list_query.check(request.scope.get("query_string", b""))
        if problems:
            raise errors.invalid(problems)
        where, arguments = [], []
        for term in search_terms(query.get("search")):
            escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("(name LIKE ? ESCAPE '\\' OR slug LIKE ? ESCAPE '\\')")
            arguments += [f"%{escaped}%"] * 2
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        count = db.execute(f"SELECT count(*) FROM plex_source s{condition}", arguments)
        paginator = Paginator(query.get("page"), query.get("page_size"))
        offset, limit = paginator.window(count.fetchone()[0])
        terms = [t.strip() for t in (query.get("ordering") or "").split(",")]
        order = [f"{ORDERING[t.lstrip('-')]} {'DESC' if t.startswith('-') else 'ASC'}"
                 for t in terms if t.lstrip("-") in ORDERING] or ["name ASC"]  # fmt: skip
        rows = db.execute(
            f"{SELECT}{condition} ORDER BY {', '.join(order)}, pbm_uuid LIMIT ? OFFSET ?",
            [*arguments, limit, offset],
        )
        return _json(paginator.envelope([_represent(row) for row in rows]), 200)

    async def create(request: Request) -> Response:
        authenticate(request)
        raw = await request.body()
        fields, problems = body_schema.clean(parse_json(raw) if raw.strip() else {})
        if problems:
            raise errors.invalid(problems)
        if db.execute("SELECT 1 FROM plex_source WHERE slug = ?", (fields["slug"],)).fetchone():
            raise errors.invalid({"slug": ["source with this slug already exists."]})
        values = {**DEFAULTS, "client_id": generate_client_id(), **fields}
        pk = uuid.uuid4().hex
        db.execute(
            "INSERT INTO plex_source (pbm_uuid, name, slug, enabled, promoted, "
            "authentication_flow_id, enrollment_flow_id, policy_engine_mode, "
            "user_matching_mode, managed, user_path_template, icon, group_matching_mode, "
            "client_id, allowed_servers, allow_friends, plex_token) "
            "VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
            (pk, values["name"], values["slug"], values["enabled"], values["promoted"],
             values["policy_engine_mode"], values["user_matching_mode"],
             values["user_path_template"], values["icon"], values["group_matching_mode"],
             values["client_id"], orjson.dumps(values["allowed_servers"]).decode(),
             values["allow_friends"], values["plex_token"]),
        )  # fmt: skip
        row = db.execute(SELECT + " WHERE pbm_uuid = ?", (pk,)).fetchone()
        return _json(_represent(row), 201)

    async def sources(request: Request) -> Response:
        return await (create(request) if request.method == "POST" else listing(request))

    async def on_api_error(request: Request, error: errors.APIError) -> Response:
        return _json(error.body, error.status)

    app = Starlette(
        routes=[
            Route("/api/v3" + SOURCES_PATH, sources, methods=["GET", "POST"]),
            Route("/api/v3" + SOURCES_PATH + "{slug}/", retrieve, methods=["GET"]),
        ],
        exception_handlers={errors.APIError: on_api_error},
    )
    freeze_start_up_heap()  # as the API's server does
    return app
