"""The limit: Plex sources as the API answers them (the same compiled validators, the
same DRF answers, the same permission rules), on bare Starlette with orjson and the
database driver used directly: stdlib sqlite3 or psycopg 3, one connection, hand-written
SQL, inline on the event loop. What a request costs when nothing but the work is done.

It serves what the bench loads: list, create, retrieve, partial update, delete and
used_by, for superusers and for users holding permission grants. One set of SQL for both
databases; `Dialect` holds the few places where they must differ."""

import hashlib
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

import orjson
import psycopg
import yaml
from connexion.json_schema import resolve_refs
from psycopg.types.json import Json
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import errors
from app.auth import audit_of
from app.concurrency import limit_malloc_arenas
from app.main import SPEC_PATH, freeze_start_up_heap
from app.pagination import Paginator
from app.validation import MAX_BODY_BYTES, CompiledQuery, body_too_large, compiled_body, parse_json
from models.errors import DOES_NOT_EXIST
from models.events import DEFAULT_RETENTION, event_row, model_dict
from models.resources import SOURCES, USED_BY_MODELS
from models.sources import generate_client_id, source_api
from models.store import Store, search_terms, unicode_lower

SOURCES_PATH = "/sources/plex/"
VIEW, ADD, CHANGE, DELETE = (SOURCES.codename(a) for a in ("view", "add", "change", "delete"))
MAPPINGS = "(SELECT {mappings} FROM {table} WHERE source_pk = s.pbm_uuid)"
SELECT = (
    "SELECT pbm_uuid, name, slug, enabled, promoted, authentication_flow_id, "
    "enrollment_flow_id, policy_engine_mode, user_matching_mode, managed, "
    "user_path_template, icon, group_matching_mode, client_id, allowed_servers, "
    "allow_friends, plex_token, "
    + MAPPINGS.replace("{table}", "source_user_property_mapping")
    + ", "
    + MAPPINGS.replace("{table}", "source_group_property_mapping")
    + " FROM plex_source s"
)
CALLER = """
SELECT u.id, u.is_active, t.expiring, t.expires, u.username, u.email, EXISTS (
    SELECT 1 FROM user_group ug JOIN "group" g ON g.group_uuid = ug.group_uuid
    WHERE ug.user_id = u.id AND g.is_superuser)
FROM token t JOIN "user" u ON u.id = t.user_id WHERE t.key_digest = ? AND t.intent = 'api'
"""
# The permissions a user holds: its roles' and its groups' roles' (two arguments: the
# user's id, twice).
HELD = (
    "role_uuid IN (SELECT role_uuid FROM user_role WHERE user_id = ? UNION "
    "SELECT gr.role_uuid FROM group_role gr JOIN user_group ug "
    "ON ug.group_uuid = gr.group_uuid WHERE ug.user_id = ?)"
)
GLOBAL_GRANTS = f"SELECT codename FROM role_permission WHERE object_pk IS NULL AND {HELD}"
ANY_OBJECT_GRANT = (
    f"SELECT 1 FROM role_permission WHERE codename = ? AND object_pk IS NOT NULL AND {HELD} LIMIT 1"
)
# The sources a user may view by object grants, filtered in SQL however many they are.
VIEWABLE = (
    "s.pbm_uuid IN (SELECT {grant_key} FROM role_permission WHERE codename = ? "
    f"AND object_pk IS NOT NULL AND {HELD})"
)
# Every write records its event, as the API's store does, in the write's transaction.
EVENT = (
    'INSERT INTO event (id, created, expires, action, app, "user", client_ip, context, brand, '
    "username, model_app, model_name, model_pk) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# What the creator's roles receive on a new source (initial permissions; arguments: the
# source's pk as text, the four codenames, the user's id twice).
INITIAL_GRANTS = (
    "INSERT INTO role_permission (role_uuid, codename, object_pk) "
    "SELECT DISTINCT ip.role_uuid, c.codename, ? FROM initial_permissions ip "
    "JOIN initial_permissions_codename c ON c.initial_id = ip.id "
    f"WHERE c.codename IN (?, ?, ?, ?) AND ip.{HELD}"
)
USED_BY_MAPPINGS = """
SELECT 0, m.pm_uuid, m.name FROM source_group_property_mapping j
JOIN property_mapping m ON m.pm_uuid = j.mapping_pk WHERE j.source_pk = ?
UNION ALL
SELECT 1, m.pm_uuid, m.name FROM source_user_property_mapping j
JOIN property_mapping m ON m.pm_uuid = j.mapping_pk WHERE j.source_pk = ?
ORDER BY 1, 2
"""
USED_BY_CONNECTIONS = (
    "SELECT id, user_id FROM user_plex_source_connection WHERE source_pk = ? ORDER BY id"
)
ORDERING = {"pk": "pbm_uuid", "name": "name", "slug": "slug", "enabled": "enabled",
            "client_id": "client_id", "policy_engine_mode": "policy_engine_mode"}  # fmt: skip
# Request fields stored in the source's own row, in INSERT order; flows by their column.
FIELDS = ("name", "slug", "enabled", "promoted", "authentication_flow", "enrollment_flow",
          "policy_engine_mode", "user_matching_mode", "user_path_template", "icon",
          "group_matching_mode", "client_id", "allowed_servers", "allow_friends",
          "plex_token")  # fmt: skip
FLOW_COLUMNS = {"authentication_flow": "authentication_flow_id",
                "enrollment_flow": "enrollment_flow_id"}  # fmt: skip
MAPPING_TABLES = {"user_property_mappings": "source_user_property_mapping",
                  "group_property_mappings": "source_group_property_mapping"}  # fmt: skip
INSERT = (
    f"INSERT INTO plex_source (pbm_uuid, managed, "
    f"{', '.join(FLOW_COLUMNS.get(f, f) for f in FIELDS)}) "
    f"VALUES (?, NULL, {', '.join('?' for _ in FIELDS)})"
)
DEFAULTS = {"enabled": True, "promoted": False, "authentication_flow": None,
            "enrollment_flow": None, "policy_engine_mode": "any",
            "user_matching_mode": "identifier", "user_path_template":
            "goauthentik.io/sources/%(slug)s", "icon": "", "group_matching_mode": "identifier",
            "allowed_servers": [], "allow_friends": True}  # fmt: skip
SLUG_TAKEN = SOURCES.unique["slug"]


@dataclass(frozen=True)
class Dialect:
    """What SQLite and PostgreSQL spell differently."""

    placeholder: str
    mappings: str  # a source's property mapping keys, joined by commas
    grant_key: str  # a grant's object_pk (a UUID's text) as the pk column stores it
    # A search term's condition on a column, its pattern lowered (SQLite) or not: case
    # folded beyond ASCII, as the API's search (models/store.py) and Django's icontains.
    name_has: str
    slug_has: str


# SQLite's LIKE folds only ASCII: values with other characters are lowered in Python.
_SQLITE_HAS = (
    "CASE WHEN length({column}) = length(CAST({column} AS BLOB)) "
    "THEN {column} LIKE ? ESCAPE '\\' ELSE lower({column}) LIKE ? ESCAPE '\\' END"
)
SQLITE = Dialect(
    "?", "group_concat(mapping_pk)", "replace(object_pk, '-', '')",
    _SQLITE_HAS.format(column="name"), _SQLITE_HAS.format(column="slug"),
)  # fmt: skip
POSTGRES = Dialect(
    "%s", "string_agg(CAST(mapping_pk AS text), ',')", "CAST(object_pk AS uuid)",
    "name ILIKE ? ESCAPE '\\'", "slug ILIKE ? ESCAPE '\\'",
)  # fmt: skip


class Database:
    """One connection, SQLite's or PostgreSQL's, in autocommit mode: a read is one
    statement, a write takes a transaction of its own. Statements are written once, with
    `?` placeholders and the dialect's `{names}`."""

    def __init__(self, url: str):
        self.sqlite = url.startswith("sqlite:")
        self.dialect = SQLITE if self.sqlite else POSTGRES
        if self.sqlite:
            self.driver = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            for pragma in (
                "journal_mode=WAL",
                "synchronous=NORMAL",
                "foreign_keys=ON",
                "busy_timeout=10000",
                "cache_size=-16000",
            ):  # as the store's
                self.driver.execute(f"PRAGMA {pragma}")  # fmt: skip
            self.driver.create_function("lower", 1, unicode_lower, deterministic=True)
        else:
            url = "postgresql://" + url.partition("://")[2]  # without SQLAlchemy's +driver
            self.driver = psycopg.connect(url, autocommit=True)
        self._texts: dict[str, str] = {}

    def _text(self, statement: str) -> str:
        text = self._texts.get(statement)
        if text is None:
            text = statement.format(**asdict(self.dialect))
            text = self._texts[statement] = text.replace("?", self.dialect.placeholder)
        return text

    def execute(self, statement: str, arguments=()):
        return self.driver.execute(self._text(statement), arguments)

    def one(self, statement: str, arguments=()) -> tuple | None:
        return self.execute(statement, arguments).fetchone()

    def all(self, statement: str, arguments=()) -> list[tuple]:
        return self.execute(statement, arguments).fetchall()

    def many(self, statement: str, rows: list) -> None:
        if rows:
            self.driver.cursor().executemany(self._text(statement), rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if not self.sqlite:
            with self.driver.transaction():
                yield
            return
        # The writer's lock up front, as the store takes it (BEGIN IMMEDIATE).
        self.driver.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.driver.execute("ROLLBACK")
            raise
        self.driver.execute("COMMIT")

    def key(self, pk: str | None):
        """A UUID as a uuid column takes it: SQLAlchemy stores 32 hex digits on SQLite."""
        if pk is None:
            return None
        return uuid.UUID(pk).hex if self.sqlite else uuid.UUID(pk)

    def when(self, moment: datetime):
        """A datetime as the store's column holds it (SQLite: SQLAlchemy's UTC text)."""
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}" if self.sqlite else moment

    def json(self, value):
        return orjson.dumps(value).decode() if self.sqlite else Json(value)


def _uuid(stored) -> str | None:
    """A UUID column's value (SQLite: hex text; PostgreSQL: a UUID) in canonical form."""
    if stored is None:
        return None
    return str(stored if isinstance(stored, uuid.UUID) else uuid.UUID(stored))


def _mapping_pks(concatenated: str | None) -> list[str]:
    return concatenated.split(",") if concatenated else []


def _represent(row: tuple) -> dict:
    """A source row as the API's PlexSource: the driver's values made what the model's
    columns hold, then the API's own representation (models.sources.source_api)."""
    (pk, name, slug, enabled, promoted, auth_flow, enrol_flow, policy, user_matching,
     managed, path_template, icon, group_matching, client_id, servers, friends, token,
     user_mappings, group_mappings) = row  # fmt: skip
    source = SimpleNamespace(
        pbm_uuid=_uuid(pk), name=name, slug=slug, enabled=bool(enabled),
        promoted=bool(promoted), authentication_flow_id=_uuid(auth_flow),
        enrollment_flow_id=_uuid(enrol_flow), policy_engine_mode=policy,
        user_matching_mode=user_matching, managed=managed, user_path_template=path_template,
        icon=icon, group_matching_mode=group_matching, client_id=client_id,
        # PostgreSQL's json column arrives parsed, SQLite's as text.
        allowed_servers=servers if isinstance(servers, list) else orjson.loads(servers),
        allow_friends=bool(friends), plex_token=token,
    )  # fmt: skip
    mappings = (_mapping_pks(user_mappings), _mapping_pks(group_mappings))
    return source_api(source, *((_uuid(pk) for pk in pks) for pks in mappings))


def _json(body, status: int) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


@dataclass(frozen=True)
class Caller:
    """The token's user, and the permissions it holds on every object."""

    user_id: int
    username: str
    email: str
    superuser: bool
    granted: frozenset[str] = frozenset()

    def covers(self, codename: str) -> bool:
        return self.superuser or codename in self.granted


def create_app() -> Starlette:
    limit_malloc_arenas()  # as the API's server does
    # Start-up, as the API's: the bootstrap key exists (through the store, once).
    store = Store(os.environ["DATABASE_URL"])
    store.ensure_bootstrap_token(os.environ["BOOTSTRAP_TOKEN"])
    store.close()
    db = Database(os.environ["DATABASE_URL"])
    spec = resolve_refs(yaml.safe_load(SPEC_PATH.read_text()))
    schemas = spec["components"]["schemas"]
    create_body = compiled_body(schemas["PlexSourceRequest"])
    patch_body = compiled_body(schemas["PatchedPlexSourceRequest"])
    list_query = CompiledQuery(spec["paths"][SOURCES_PATH]["get"]["parameters"])

    def authenticate(request: Request) -> Caller:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            raise errors.detail(403, errors.NOT_AUTHENTICATED)
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        row = db.one(CALLER, (digest,))
        if row is None or not row[1]:
            raise errors.detail(403, errors.TOKEN_INVALID)
        user_id, _active, expiring, expires, username, email, superuser = row
        if expiring and expires is not None:
            if not isinstance(expires, datetime):  # SQLite: text, in UTC
                expires = datetime.fromisoformat(expires).replace(tzinfo=UTC)
            if expires <= datetime.now(UTC):
                raise errors.detail(403, errors.TOKEN_INVALID)
        if superuser:  # holds every permission: no grants to read
            return Caller(user_id, username, email, True)
        granted = frozenset(code for (code,) in db.all(GLOBAL_GRANTS, (user_id, user_id)))
        return Caller(user_id, username, email, False, granted)

    def record(request: Request, caller: Caller, action: str, source: dict) -> None:
        """The event of a write, built as the API's store builds it."""
        model = model_dict("authentik_sources_plex", "plexsource",
                           uuid.UUID(source["pk"]), source["name"])  # fmt: skip
        user = {"pk": caller.user_id, "username": caller.username, "email": caller.email}
        audit = audit_of(request.scope, 0, user)
        row = event_row(action, {"model": model}, retention=DEFAULT_RETENTION, audit=audit)
        db.execute(EVENT, (
            db.key(str(row["id"])), db.when(row["created"]), db.when(row["expires"]),
            row["action"], row["app"], db.json(row["user"]), row["client_ip"],
            db.json(row["context"]), db.json(row["brand"]), row["username"],
            row["model_app"], row["model_name"], row["model_pk"],
        ))  # fmt: skip

    def held_on(caller: Caller, pks: list[str]) -> dict[str, set[str]]:
        """The codenames the caller holds on each of these objects by object grants."""
        if caller.superuser or not pks:
            return {}
        marks = ", ".join("?" for _ in pks)
        rows = db.all(
            f"SELECT object_pk, codename FROM role_permission WHERE object_pk IN ({marks}) "
            f"AND {HELD}",
            [*pks, caller.user_id, caller.user_id],
        )
        held: dict[str, set[str]] = {}
        for pk, code in rows:
            held.setdefault(pk, set()).add(code)
        return held

    def may(caller: Caller, held: dict, codename: str, pk: str) -> bool:
        return caller.covers(codename) or codename in held.get(pk, ())

    def shown(caller: Caller, held: dict, source: dict) -> dict:
        """`plex_token` only for callers who may change the source."""
        if may(caller, held, CHANGE, source["pk"]):
            return source
        return {key: value for key, value in source.items() if key != "plex_token"}

    def authorized(request: Request, *needs: str, represent: bool = False):
        """As the API's authorize: the caller, the source the URL names (its
        representation, or its pk) and the caller's grants on it; 404 when there is no
        such source or the caller may not view it (when `needs` asks for view), 403 when
        it lacks another of `needs`."""
        caller = authenticate(request)
        slug = request.path_params["slug"]
        row = db.one((SELECT if represent else "SELECT pbm_uuid FROM plex_source s")
                     + " WHERE slug = ?", (slug,))  # fmt: skip
        if row is None:
            raise errors.detail(404, SOURCES.not_found)
        found = _represent(row) if represent else _uuid(row[0])
        pk = found["pk"] if represent else found
        held = held_on(caller, [pk])
        for codename in needs:
            if not may(caller, held, codename, pk):
                status = 404 if codename == VIEW else 403
                raise errors.detail(status, SOURCES.not_found if status == 404 else
                                    errors.PERMISSION_DENIED)  # fmt: skip
        return caller, found, held

    async def body(request: Request, schema) -> dict:
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise body_too_large()
        fields, problems = schema.clean(parse_json(raw) if raw.strip() else {})
        if problems:
            raise errors.invalid(problems)
        return fields

    def check(fields: dict, current_slug: str | None = None) -> None:
        """What only the database can tell, in one 400: the slug is free, the flows and
        property mappings named exist (the store's _check)."""
        problems = {}
        slug = fields.get("slug")
        taken = "SELECT 1 FROM plex_source WHERE slug = ?"
        if slug is not None and slug != current_slug and db.one(taken, (slug,)):
            problems["slug"] = [SLUG_TAKEN]
        for name in FLOW_COLUMNS:
            value = fields.get(name)
            if value is not None and not db.one(
                "SELECT 1 FROM flow WHERE flow_uuid = ?", (db.key(value),)
            ):
                problems[name] = [DOES_NOT_EXIST.format(pk=value)]
        for name in MAPPING_TABLES:
            given = fields.get(name) or []
            if not given:
                continue
            marks = ", ".join("?" for _ in given)
            rows = db.all(f"SELECT pm_uuid FROM property_mapping WHERE pm_uuid IN ({marks})",
                          [db.key(pk) for pk in given])  # fmt: skip
            known = {_uuid(pk) for (pk,) in rows}
            missing = next((pk for pk in given if str(uuid.UUID(pk)) not in known), None)
            if missing is not None:
                problems[name] = [DOES_NOT_EXIST.format(pk=missing)]
        if problems:
            raise errors.invalid(problems)

    def stored(name: str, value):
        """A request field's value as its column takes it."""
        if name in FLOW_COLUMNS:
            return db.key(value)
        return db.json(value) if name == "allowed_servers" else value

    def write_mappings(pk, fields: dict) -> None:
        """Each mapping list the body gives replaces the stored one (a pk given twice
        counts once)."""
        for name, table in MAPPING_TABLES.items():
            if name in fields:
                db.execute(f"DELETE FROM {table} WHERE source_pk = ?", (pk,))
                rows = [(pk, db.key(str(m))) for m in dict.fromkeys(map(uuid.UUID, fields[name]))]
                db.many(f"INSERT INTO {table} (source_pk, mapping_pk) VALUES (?, ?)", rows)

    def read_back(pk) -> dict:
        return _represent(db.one(SELECT + " WHERE pbm_uuid = ?", (pk,)))

    async def retrieve(request: Request) -> Response:
        caller, source, held = authorized(request, VIEW, represent=True)
        return _json(shown(caller, held, source), 200)

    async def listing(request: Request) -> Response:
        caller = authenticate(request)
        query, problems = list_query.check(request.scope.get("query_string", b""))
        if problems:
            raise errors.invalid(problems)
        where, arguments = [], []
        if not caller.covers(VIEW):
            # Nothing to see at all is a 403; otherwise the grants filter the list.
            if db.one(ANY_OBJECT_GRANT, (VIEW, caller.user_id, caller.user_id)) is None:
                raise errors.detail(403, errors.PERMISSION_DENIED)
            where.append(VIEWABLE)
            arguments += [VIEW, caller.user_id, caller.user_id]
        for term in search_terms(query.get("search")):
            if db.sqlite:
                term = term.lower()
            escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("({name_has} OR {slug_has})")
            arguments += [f"%{escaped}%"] * (4 if db.sqlite else 2)
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        count = db.one(f"SELECT count(*) FROM plex_source s{condition}", arguments)[0]
        paginator = Paginator(query.get("page"), query.get("page_size"))
        offset, limit = paginator.window(count)
        terms = [t.strip() for t in (query.get("ordering") or "").split(",")]
        order = [f"{ORDERING[t.lstrip('-')]} {'DESC' if t.startswith('-') else 'ASC'}"
                 for t in terms if t.lstrip("-") in ORDERING] or ["name ASC"]  # fmt: skip
        rows = db.all(
            f"{SELECT}{condition} ORDER BY {', '.join(order)}, pbm_uuid LIMIT ? OFFSET ?",
            [*arguments, limit, offset],
        )
        sources = [_represent(row) for row in rows]
        held = held_on(caller, [source["pk"] for source in sources])
        return _json(paginator.envelope([shown(caller, held, s) for s in sources]), 200)

    async def create(request: Request) -> Response:
        caller = authenticate(request)
        if not caller.covers(ADD):
            raise errors.detail(403, errors.PERMISSION_DENIED)
        fields = await body(request, create_body)
        values = {**DEFAULTS, "client_id": generate_client_id(), **fields}
        pk = db.key(str(uuid.uuid4()))
        with db.transaction():
            check(fields)
            db.execute(INSERT, (pk, *(stored(name, values[name]) for name in FIELDS)))
            write_mappings(pk, fields)
            db.execute(INITIAL_GRANTS, (str(uuid.UUID(str(pk))), VIEW, ADD, CHANGE, DELETE,
                                        caller.user_id, caller.user_id))  # fmt: skip
            source = read_back(pk)
            record(request, caller, "model_created", source)
        return _json(shown(caller, {}, source), 201)

    async def partial_update(request: Request) -> Response:
        caller, pk, held = authorized(request, VIEW, CHANGE)
        fields = await body(request, patch_body)
        key = db.key(pk)
        with db.transaction():
            check(fields, request.path_params["slug"])
            columns = [name for name in FIELDS if name in fields]
            if columns:
                assignments = ", ".join(f"{FLOW_COLUMNS.get(n, n)} = ?" for n in columns)
                changed = db.execute(
                    f"UPDATE plex_source SET {assignments} WHERE pbm_uuid = ?",
                    [*(stored(name, fields[name]) for name in columns), key],
                )
                if changed.rowcount == 0:  # deleted since it was found
                    raise errors.detail(404, SOURCES.not_found)
            write_mappings(key, fields)
            source = read_back(key)
            record(request, caller, "model_updated", source)
        return _json(shown(caller, held, source), 200)

    async def destroy(request: Request) -> Response:
        caller, pk, _held = authorized(request, VIEW, DELETE)
        with db.transaction():
            found = db.one(SELECT + " WHERE pbm_uuid = ?", (db.key(pk),))
            if found is None:  # deleted since it was found
                raise errors.detail(404, SOURCES.not_found)
            record(request, caller, "model_deleted", _represent(found))
            # The permissions granted on it go too; the database cascades the rest.
            db.execute(
                "DELETE FROM role_permission WHERE object_pk = ? AND codename IN (?, ?, ?, ?)",
                (pk, VIEW, ADD, CHANGE, DELETE),
            )
            gone = db.execute("DELETE FROM plex_source WHERE pbm_uuid = ?", (db.key(pk),))
            if gone.rowcount == 0:
                raise errors.detail(404, SOURCES.not_found)
        return Response(status_code=204)

    async def used_by(request: Request) -> Response:
        # The source only has to exist; each entry shows only to who may view its object.
        caller, pk, _held = authorized(request)
        key = db.key(pk)
        entries = [
            {"app": "authentik_core", "model_name": "propertymapping", "pk": _uuid(m_pk),
             "name": f"Property Mapping {name}", "action": "cascade_many"}
            for _list, m_pk, name in db.all(USED_BY_MAPPINGS, (key, key))
        ] + [
            {"app": "authentik_core", "model_name": "usersourceconnection", "pk": str(c_pk),
             "name": f"User-source connection (user={user}, source={pk})", "action": "cascade"}
            for c_pk, user in db.all(USED_BY_CONNECTIONS, (key,))
        ]  # fmt: skip
        held = held_on(caller, [entry["pk"] for entry in entries])
        visible = [
            entry for entry in entries
            if may(caller, held, USED_BY_MODELS[entry["model_name"]].codename("view"),
                   entry["pk"])
        ]  # fmt: skip
        return _json(visible, 200)

    async def sources(request: Request) -> Response:
        return await (create(request) if request.method == "POST" else listing(request))

    async def source(request: Request) -> Response:
        handler = {"GET": retrieve, "PATCH": partial_update, "DELETE": destroy}
        return await handler[request.method](request)

    async def on_api_error(request: Request, error: errors.APIError) -> Response:
        return _json(error.body, error.status)

    app = Starlette(
        routes=[
            Route("/api/v3" + SOURCES_PATH, sources, methods=["GET", "POST"]),
            Route("/api/v3" + SOURCES_PATH + "{slug}/", source,
                  methods=["GET", "PATCH", "DELETE"]),
            Route("/api/v3" + SOURCES_PATH + "{slug}/used_by/", used_by, methods=["GET"]),
        ],
        exception_handlers={errors.APIError: on_api_error},
    )  # fmt: skip
    freeze_start_up_heap()  # as the API's server does
    return app
