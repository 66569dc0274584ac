"""What the API serves, described once per model: how it is looked up, listed, checked
against the database and written. The store applies these descriptions."""

import json
import uuid
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache, cached_property

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    Uuid,
    bindparam,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session

from models.base import comma_joined, json_value_is, now, parse_datetime, uuid_text
from models.driver import DriverQuery
from models.errors import DOES_NOT_EXIST, NOT_UNIQUE_TOGETHER, Invalid, NotFound
from models.events import Event, event_api
from models.identity import (
    IN_A_SUPERUSER_GROUP,
    Group,
    InitialPermissions,
    InstallId,
    Role,
    RolePermission,
    Token,
    User,
    group_api,
    group_roles,
    initial_permission_codenames,
    managed_role_name,
    partial_group_api,
    partial_user_api,
    roles_of,
    token_api,
    user_api,
    user_groups,
    user_roles,
)
from models.plex import UserPlexSourceConnection, connection_api
from models.sources import (
    Flow,
    PlexSource,
    PropertyMapping,
    flow_api,
    group_property_mappings,
    mapping_api,
    source_api,
    user_property_mappings,
)

ACTIONS = ("view", "add", "change", "delete")
# The parameter naming the updated object in Resource.updated; no column is named so.
UPDATED_PK = "updated_pk"


@dataclass(frozen=True)
class Resource:
    model: type
    # Reads select these columns from this table (or join) and turn each row into the
    # API's representation directly, without building ORM objects (docs/performance.md).
    columns: tuple
    represent: Callable[[Row], dict]
    permission_model: str  # authentik's `<app>.<model>`, for permission codenames
    lookup: object  # the column the URL names an object by
    not_found: str
    pk: object
    filters: dict = field(default_factory=dict)  # query parameter -> column (exact match)
    # query parameter -> the column of another model its values name
    relation_filters: dict = field(default_factory=dict)
    # query parameter -> its conditions, for filters other than one column's exact value
    filter_clauses: dict[str, Callable[[object], list]] = field(default_factory=dict)
    search: tuple = ()
    selected_from: object = None  # the table, or join, `columns` come from; the model's
    ordering: dict = field(default_factory=dict)  # `?ordering=` field -> column
    default_ordering: tuple = ()
    unique: dict = field(default_factory=dict)  # request field -> message when taken
    owner: object = None  # the column naming the user who owns an object, if any
    # Checks that need the database, given the object's stored row (None when it is
    # being created) and the request's fields.
    check_references: Callable[[Connection, object, dict], dict] = lambda conn, row, data: {}
    # The request's fields as the table's columns, and what else a write changes (given
    # the object's primary key), for fields that are not one column.
    columns_of: Callable[[dict], dict] = dict
    write_related: Callable[[Connection, object, dict], None] = lambda conn, pk, data: None
    # Who refers to the object with this primary key (UsedBy entries).
    used_by: Callable[[Connection, object], list] = lambda connection, pk: []
    # What the representation needs from other tables, read for a whole page of rows in
    # one query; `represent` then takes it as its second argument.
    related: Callable[[Connection, list], object] | None = None
    # A user may create these for itself without the `add` permission (API tokens).
    self_service: bool = False
    # Permissions of the model beyond view, add, change and delete: codename -> name.
    more_permissions: dict = field(default_factory=dict)
    # Users and groups hold their own permissions on a managed role of this kind, which
    # goes when they do.
    managed_role: str | None = None
    # authentik's verbose name of the model (permission names, /rbac/permissions/).
    verbose_name: str = ""
    # How events name an object, from its representation: authentik's `name` field where
    # the model has one, its str() otherwise.
    label: Callable[[dict], str] = lambda representation: representation["name"]
    # Conditions that need several query parameters at once (given them all, by name);
    # their names are in filter_clauses too, which then add nothing themselves.
    combined_filters: Callable[[dict], list] = lambda filters: []

    @cached_property
    def lookup_query(self):
        """The object a URL key names, for writes; built once."""
        return select(self.model).where(self.lookup == bindparam("key"))

    def represent_all(self, connection: Connection, rows) -> list[dict]:
        """Rows of `rows` (the query below) in their API form. Each becomes a named
        tuple first: its fields read several times faster than a result row's."""
        make, represent = self._row_type._make, self.represent
        if self.related is None:
            return [represent(make(row)) for row in rows]
        rows = [make(row) for row in rows]
        related = self.related(connection, rows)
        return [represent(row, related) for row in rows]

    @cached_property
    def _row_type(self) -> type:
        return namedtuple(self.model.__name__ + "Row", [column.key for column in self.columns])

    @cached_property
    def rows(self):
        """Every object's representation columns; lists and lookups add their terms."""
        return select(*self.columns).select_from(self._selected_from)

    @cached_property
    def counted(self):
        """How many objects; lists add the same terms as to `rows`."""
        return select(func.count()).select_from(self._selected_from)

    @property
    def _selected_from(self):
        return self.model if self.selected_from is None else self.selected_from

    @cached_property
    def represented_by_key(self):
        """The representation of the object a URL key names; built once."""
        return self.rows.where(self.lookup == bindparam("key"))

    @cached_property
    def found_by_key(self):
        """The primary key and owner of the object a URL key names; built once."""
        owner = self.owner if self.owner is not None else self.pk
        return select(self.pk, owner).where(self.lookup == bindparam("key"))

    @cached_property
    def represented_on_driver(self) -> DriverQuery:
        """represented_by_key on the driver: the lookup of every retrieve."""
        return DriverQuery(self.represented_by_key)

    @cached_property
    def found_on_driver(self) -> DriverQuery:
        """found_by_key on the driver: the lookup of every other operation on an object."""
        return DriverQuery(self.found_by_key)

    @cached_property
    def represented_by_pk(self) -> DriverQuery:
        """The representation of the object with primary key `pk`: a write reads back
        what it wrote."""
        return DriverQuery(self.rows.where(self.pk == bindparam("pk")))

    @cached_property
    def inserted(self):
        """An INSERT of one object, its columns those of the values it is run with."""
        return insert(self.model.__table__)

    @cached_property
    def updated(self):
        """An UPDATE of the object whose primary key is the UPDATED_PK value, its
        columns those of the other values it is run with."""
        return update(self.model.__table__).where(self.pk == bindparam(UPDATED_PK))

    @cached_property
    def unique_lookups(self) -> dict[str, DriverQuery]:
        """For each unique field: the primary key of the object whose field holds
        `value`, if any."""
        return {
            name: DriverQuery(
                select(self.pk).where(getattr(self.model, name) == bindparam("value"))
            )
            for name in self.unique
        }

    @cached_property
    def deleted(self) -> DriverQuery:
        """A DELETE of the object with primary key `pk`."""
        return DriverQuery(delete(self.model.__table__).where(self.pk == bindparam("pk")))

    @cached_property
    def grants_deleted(self) -> DriverQuery:
        """A DELETE of the permissions roles hold on the object whose primary key, as
        text, is `object_pk`."""
        # One comparison per codename: an IN list would be written into the SQL at
        # each run, which the driver path does not do.
        return DriverQuery(
            delete(RolePermission).where(
                RolePermission.object_pk == bindparam("object_pk"),
                or_(*(RolePermission.codename == codename for codename in self.codenames)),
            )
        )

    def named(self, row) -> tuple:
        """A row of `rows` (or of represented_by_key) with its fields named."""
        return self._row_type._make(row)

    def codename(self, action: str) -> str:
        """`view`, `add`, `change` or `delete`, as authentik names the permission."""
        app, model = self.permission_model.split(".")
        return f"{app}.{action}_{model}"

    @property
    def app_label(self) -> str:
        return self.permission_model.split(".")[0]

    @property
    def model_name(self) -> str:
        return self.permission_model.split(".")[1]

    @property
    def codenames(self) -> list[str]:
        """Every permission on the model's objects, as authentik names them."""
        app = self.app_label
        return [self.codename(a) for a in ACTIONS] + [f"{app}.{p}" for p in self.more_permissions]


@cache  # reading `.type` from a mapped attribute goes through SQLAlchemy's attribute
# proxying, several µs for each key of every request
def _column_type(column):
    return column.type


def column_key(column, value):
    """A URL's, a filter's or a grant's key as the column holds it; None when it cannot
    match anything."""
    column_type = _column_type(column)
    if isinstance(column_type, Uuid):
        try:
            return uuid.UUID(str(value))
        except ValueError:
            return None
    if isinstance(column_type, Integer):
        # Integer keys are 32-bit in both databases; larger ones match nothing.
        text = str(value).strip()
        try:  # isdigit() also holds for "²", which int() refuses
            number = int(text) if len(text) < 12 else None
        except ValueError:
            return None
        return number if number is not None and -(2**31) <= number < 2**31 else None
    if isinstance(column_type, Boolean):
        return value
    if "\x00" in str(value):  # PostgreSQL cannot even compare a NUL; no stored key has one
        return None
    return value


def get_or_404(session: Session, resource: Resource, key: str):
    """The object the URL names; NotFound when there is none."""
    obj = None
    key = column_key(resource.lookup, key)
    if key is not None:
        obj = session.scalar(resource.lookup_query, {"key": key})
    if obj is None:
        raise NotFound(resource.not_found)
    return obj


def stored_row(connection: Connection, resource: Resource, key: str):
    """The stored row of the object a URL names (its representation's columns, named);
    NotFound when there is none."""
    key = column_key(resource.lookup, key)
    row = (
        None
        if key is None
        else resource.represented_on_driver.one_or_none(connection, {"key": key})
    )
    if row is None:
        raise NotFound(resource.not_found)
    return resource.named(row)


def stored_pk(connection: Connection, resource: Resource, key: str):
    """The primary key of the object a URL names; NotFound when there is none."""
    key = column_key(resource.lookup, key)
    row = None if key is None else resource.found_on_driver.one_or_none(connection, {"key": key})
    if row is None:
        raise NotFound(resource.not_found)
    return row[0]


def missing_references(connection: Connection, column, data: dict, field: str) -> dict:
    """DRF's error when a value of the list `field` names no object by `column` (the
    first such value, as DRF reports it); {} when each names one. One query."""
    given = data.get(field) or []
    keys = [column_key(column, value) for value in given]
    found = set(connection.scalars(_keys_found(column), {"keys": keys})) if given else set()
    missing = next(
        (value for value, key in zip(given, keys, strict=True) if key not in found), None
    )
    return {} if missing is None else {field: [DOES_NOT_EXIST.format(pk=missing)]}


@cache
def _keys_found(column):
    """Which of the KEYS values `column` holds (exists, missing_references), built once
    per column: SQLAlchemy then skips working out its cache key at each run."""
    return select(column).where(column.in_(KEYS))


# The parameter of `grouped` queries: the keys whose rows they find.
KEYS = bindparam("keys", expanding=True)


def grouped(connection: Connection, query, keys, make: Callable) -> dict[object, list]:
    """What `query` finds for `keys` (its KEYS parameter), as lists by key (each row's
    first column), each row made into `make(row)`, in the query's order: what a page of
    objects needs from another table, in one query for the whole page."""
    found: dict[object, list] = {}
    keys = list(dict.fromkeys(keys))
    if keys:
        for row in connection.execute(query, {"keys": keys}):
            found.setdefault(row[0], []).append(make(row))
    return found


def used_by_entry(app: str, model_name: str, pk, name: str, action: str) -> dict:
    """One UsedBy object: who refers to the queried object, and what its deletion does."""
    return {"app": app, "model_name": model_name, "pk": str(pk), "name": name, "action": action}


# -- Plex sources ----------------------------------------------------------------------

SOURCE_FLOW_FIELDS = {
    "authentication_flow": "authentication_flow_id",
    "enrollment_flow": "enrollment_flow_id",
}
SOURCE_MAPPING_FIELDS = ("user_property_mappings", "group_property_mappings")


def exists(connection: Connection, model: type, pk) -> bool:
    """Whether the model has an object with this primary key."""
    (column,) = model.__table__.primary_key.columns
    return connection.scalar(_keys_found(column), {"keys": [pk]}) is not None


def _check_source_references(connection: Connection, _row, data: dict) -> dict:
    """Flows and property mappings named in a source must exist (the first missing one
    of each field is reported, as DRF does)."""
    problems = {}
    for name in SOURCE_FLOW_FIELDS:
        value = data.get(name)
        if value is not None and not exists(connection, Flow, uuid.UUID(value)):
            problems[name] = [DOES_NOT_EXIST.format(pk=value)]
    for name in SOURCE_MAPPING_FIELDS:
        problems.update(missing_references(connection, PropertyMapping.pm_uuid, data, name))
    return problems


def _source_columns_of(data: dict) -> dict:
    values = {}
    for name, value in data.items():
        if name in SOURCE_FLOW_FIELDS:
            values[SOURCE_FLOW_FIELDS[name]] = None if value is None else uuid.UUID(value)
        elif name not in SOURCE_MAPPING_FIELDS:
            values[name] = value
    return values


# Each mapping list field: its table, and the statement that empties a source's list.
_MAPPING_LISTS = {
    name: (table, delete(table).where(table.c.source_pk == bindparam("pk")))
    for name, table in (("user_property_mappings", user_property_mappings),
                        ("group_property_mappings", group_property_mappings))
}  # fmt: skip


def _write_source_mappings(connection: Connection, pk: uuid.UUID, data: dict) -> None:
    """A mapping list given replaces the stored one; a pk given twice counts once."""
    for name, (table, emptied) in _MAPPING_LISTS.items():
        if name not in data:
            continue
        connection.execute(emptied, {"pk": pk})
        pks = dict.fromkeys(uuid.UUID(mapping) for mapping in data[name])
        if pks:
            rows = [{"source_pk": pk, "mapping_pk": mapping} for mapping in pks]
            connection.execute(insert(table), rows)


# A source's used_by in one statement, built once and run on the driver: its own
# property mappings (a forward many-to-many), group list first, as authentik walks the
# managers in name order, then the users' connections to it; `pk` is the source's.
def _source_mappings_part(part: int, table):
    return (
        select(
            literal_column(str(part), Integer).label("part"),
            PropertyMapping.pm_uuid.label("mapping_pk"),
            PropertyMapping.name.label("mapping_name"),
            cast(null(), Integer).label("connection_id"),
            cast(null(), Integer).label("user_id"),
        )
        .join(table, table.c.mapping_pk == PropertyMapping.pm_uuid)
        .where(table.c.source_pk == bindparam("pk"))
    )


_SOURCE_USED_BY = DriverQuery(
    union_all(
        _source_mappings_part(0, group_property_mappings),
        _source_mappings_part(1, user_property_mappings),
        select(
            literal_column("2", Integer),
            cast(null(), Uuid),
            cast(null(), String),
            UserPlexSourceConnection.id,
            UserPlexSourceConnection.user_id,
        ).where(UserPlexSourceConnection.source_pk == bindparam("pk")),
    ).order_by(*(literal_column(name) for name in ("part", "mapping_pk", "connection_id")))
)


def _source_used_by(connection: Connection, pk: uuid.UUID) -> list[dict]:
    return [
        used_by_entry("authentik_core", "propertymapping", mapping_pk,
                      PropertyMapping.label(name), "cascade_many")
        if connection_id is None else
        used_by_entry("authentik_core", "usersourceconnection", connection_id,
                      UserPlexSourceConnection.label(user_id, pk), "cascade")
        for _part, mapping_pk, name, connection_id, user_id
        in _SOURCE_USED_BY.rows(connection, {"pk": pk})
    ]  # fmt: skip


def _mapping_pks(table, source_pk) -> object:
    """A source's property mappings in one of its lists, joined by commas."""
    joined = comma_joined(cast(table.c.mapping_pk, String))
    return select(joined).where(table.c.source_pk == source_pk).scalar_subquery()


def _pks(joined: str | None) -> list[uuid.UUID]:
    return [uuid.UUID(pk) for pk in joined.split(",")] if joined else []


def _source_columns(prefix: str = "") -> tuple:
    """A source's representation columns, named with `prefix` where it is selected
    beside another table's."""
    mappings = (("user_mapping_pks", user_property_mappings),
                ("group_mapping_pks", group_property_mappings))  # fmt: skip
    return (
        *(column.label(prefix + column.key) for column in PlexSource.__table__.columns),
        *(_mapping_pks(table, PlexSource.pbm_uuid).label(prefix + n) for n, table in mappings),
    )


def _represent_source(row) -> dict:
    return source_api(row, _pks(row.user_mapping_pks), _pks(row.group_mapping_pks))


SOURCES = Resource(
    model=PlexSource,
    columns=_source_columns(),
    represent=_represent_source,
    permission_model="authentik_sources_plex.plexsource",
    lookup=PlexSource.slug,
    not_found="No PlexSource matches the given query.",
    pk=PlexSource.pbm_uuid,
    filters={
        "allow_friends": PlexSource.allow_friends,
        "authentication_flow": PlexSource.authentication_flow_id,
        "client_id": PlexSource.client_id,
        "enabled": PlexSource.enabled,
        "enrollment_flow": PlexSource.enrollment_flow_id,
        "group_matching_mode": PlexSource.group_matching_mode,
        "name": PlexSource.name,
        "pbm_uuid": PlexSource.pbm_uuid,
        "policy_engine_mode": PlexSource.policy_engine_mode,
        "slug": PlexSource.slug,
        "user_matching_mode": PlexSource.user_matching_mode,
    },
    relation_filters={
        "authentication_flow": Flow.flow_uuid,
        "enrollment_flow": Flow.flow_uuid,
    },
    search=(PlexSource.name, PlexSource.slug),
    # Serializer fields backed by a column; anything else is ignored, as DRF does for
    # fields it cannot order by.
    ordering={
        "pk": PlexSource.pbm_uuid,
        "name": PlexSource.name,
        "slug": PlexSource.slug,
        "enabled": PlexSource.enabled,
        "promoted": PlexSource.promoted,
        "authentication_flow": PlexSource.authentication_flow_id,
        "enrollment_flow": PlexSource.enrollment_flow_id,
        "policy_engine_mode": PlexSource.policy_engine_mode,
        "user_matching_mode": PlexSource.user_matching_mode,
        "managed": PlexSource.managed,
        "user_path_template": PlexSource.user_path_template,
        "icon": PlexSource.icon,
        "group_matching_mode": PlexSource.group_matching_mode,
        "client_id": PlexSource.client_id,
        "allow_friends": PlexSource.allow_friends,
        "plex_token": PlexSource.plex_token,
    },
    default_ordering=("name",),
    unique={"slug": "source with this slug already exists."},
    verbose_name="Plex Source",
    check_references=_check_source_references,
    columns_of=_source_columns_of,
    write_related=_write_source_mappings,
    used_by=_source_used_by,
)


# -- flows -----------------------------------------------------------------------------


def _sources_where(*conditions) -> tuple:
    """For each condition on a `pk` parameter, the sources meeting it, built once."""
    return tuple(
        DriverQuery(
            select(PlexSource.pbm_uuid, PlexSource.name)
            .where(condition)
            .order_by(PlexSource.pbm_uuid)
        )
        for condition in conditions
    )


def _sources_using(connection: Connection, queries: tuple, pk, action: str) -> list[dict]:
    """UsedBy entries for the sources each query finds, in turn (one per reference, as
    authentik lists one per related manager)."""
    return [
        used_by_entry("authentik_core", "source", source_pk, name, action)
        for query in queries
        for source_pk, name in query.rows(connection, {"pk": pk})
    ]


_FLOW_USERS = _sources_where(
    PlexSource.authentication_flow_id == bindparam("pk"),
    PlexSource.enrollment_flow_id == bindparam("pk"),
)


def _flow_used_by(connection: Connection, pk: uuid.UUID) -> list[dict]:
    """Sources that authenticate or enrol with the flow; deleting it nulls their field."""
    return _sources_using(connection, _FLOW_USERS, pk, "set_null")


FLOWS = Resource(
    model=Flow,
    columns=tuple(Flow.__table__.columns),
    represent=flow_api,
    permission_model="authentik_flows.flow",
    lookup=Flow.slug,
    not_found="No Flow matches the given query.",
    verbose_name="Flow",
    pk=Flow.flow_uuid,
    filters={
        "denied_action": Flow.denied_action,
        "designation": Flow.designation,
        "flow_uuid": Flow.flow_uuid,
        "name": Flow.name,
        "slug": Flow.slug,
    },
    search=(Flow.name, Flow.slug, Flow.designation, Flow.title),
    ordering={
        "pk": Flow.flow_uuid,
        "policybindingmodel_ptr_id": Flow.flow_uuid,
        "name": Flow.name,
        "slug": Flow.slug,
        "title": Flow.title,
        "designation": Flow.designation,
        "background": Flow.background,
        "policy_engine_mode": Flow.policy_engine_mode,
        "compatibility_mode": Flow.compatibility_mode,
        "layout": Flow.layout,
        "denied_action": Flow.denied_action,
        "authentication": Flow.authentication,
    },
    default_ordering=("slug",),
    unique={"slug": "Flow with this slug already exists."},
    used_by=_flow_used_by,
)


# -- Plex source property mappings -----------------------------------------------------


_MAPPING_LISTERS = _sources_where(
    *(
        PlexSource.pbm_uuid.in_(
            select(table.c.source_pk).where(table.c.mapping_pk == bindparam("pk"))
        )
        for table in (group_property_mappings, user_property_mappings)
    )
)


def _mapping_used_by(connection: Connection, pk: uuid.UUID) -> list[dict]:
    """Sources that list the mapping; deleting it removes it from their lists."""
    return _sources_using(connection, _MAPPING_LISTERS, pk, "cascade_many")


PLEX_MAPPINGS = Resource(
    model=PropertyMapping,
    columns=tuple(PropertyMapping.__table__.columns),
    represent=mapping_api,
    permission_model="authentik_sources_plex.plexsourcepropertymapping",
    lookup=PropertyMapping.pm_uuid,
    not_found="No PlexSourcePropertyMapping matches the given query.",
    verbose_name="Plex Source Property Mapping",
    pk=PropertyMapping.pm_uuid,
    filters={"name": PropertyMapping.name},
    search=(PropertyMapping.name,),
    ordering={"name": PropertyMapping.name, "pk": PropertyMapping.pm_uuid},
    default_ordering=("name",),
    filter_clauses={
        # Any of the values given.
        "managed": lambda values: [or_(*(PropertyMapping.managed == v for v in values))],
        "managed__isnull": lambda isnull: [
            PropertyMapping.managed.is_(None) if isnull else PropertyMapping.managed.is_not(None)
        ],
    },
    unique={
        "managed": "Property Mapping with this Managed by authentik already exists.",
        "name": "Property Mapping with this name already exists.",
    },
    used_by=_mapping_used_by,
)


# -- user Plex source connections ------------------------------------------------------


def _check_connection_references(connection: Connection, row, data: dict) -> dict:
    source = data.get("source")
    if source is None:
        return {}
    if not exists(connection, PlexSource, uuid.UUID(source)):
        return {"source": [DOES_NOT_EXIST.format(pk=source)]}
    # One connection per user and source (authentik's unique_together). Connections
    # are only ever updated here (a Plex login creates them), so `row` is stored.
    taken = connection.scalar(
        select(UserPlexSourceConnection.id).where(
            UserPlexSourceConnection.user_id == row.user_id,
            UserPlexSourceConnection.source_pk == uuid.UUID(source),
            UserPlexSourceConnection.id != row.id,
        )
    )
    if taken is not None:
        return {"non_field_errors": [NOT_UNIQUE_TOGETHER.format(fields="user, source")]}
    return {}


def _connection_columns_of(data: dict) -> dict:
    values = {name: value for name, value in data.items() if name != "source"}
    if "source" in data:
        values["source_pk"] = uuid.UUID(data["source"])
    return values


class _Prefixed:
    """The columns of a row whose names start with `prefix`, by their names without it."""

    def __init__(self, row: Row, prefix: str):
        self._row, self._prefix = row, prefix

    def __getattr__(self, name: str):
        return getattr(self._row, self._prefix + name)


def _represent_connection(row) -> dict:
    return connection_api(row, _represent_source(_Prefixed(row, "source_")))


CONNECTIONS = Resource(
    model=UserPlexSourceConnection,
    columns=(*UserPlexSourceConnection.__table__.columns, *_source_columns("source_")),
    represent=_represent_connection,
    # The user for search by username; the source for its representation and slug.
    selected_from=UserPlexSourceConnection.__table__.join(
        PlexSource, PlexSource.pbm_uuid == UserPlexSourceConnection.source_pk
    ).join(User, User.id == UserPlexSourceConnection.user_id),
    permission_model="authentik_sources_plex.userplexsourceconnection",
    lookup=UserPlexSourceConnection.id,
    not_found="No UserPlexSourceConnection matches the given query.",
    verbose_name="User Plex Source Connection",
    label=lambda c: UserPlexSourceConnection.label(c["user"], uuid.UUID(c["source"])),
    pk=UserPlexSourceConnection.id,
    filters={"user": UserPlexSourceConnection.user_id},
    filter_clauses={"source__slug": lambda slug: [PlexSource.slug == slug]},
    search=(UserPlexSourceConnection.identifier, User.username, PlexSource.slug),
    ordering={
        "pk": UserPlexSourceConnection.id,
        "identifier": UserPlexSourceConnection.identifier,
        "created": UserPlexSourceConnection.created,
        "last_updated": UserPlexSourceConnection.last_updated,
        "user": UserPlexSourceConnection.user_id,
    },
    default_ordering=("pk",),
    owner=UserPlexSourceConnection.user_id,
    check_references=_check_connection_references,
    columns_of=_connection_columns_of,
)


# -- users -----------------------------------------------------------------------------


def _user_columns(prefix: str = "") -> tuple:
    """A user's representation columns (with the install id its `uid` derives from),
    named with `prefix` where they are selected beside another table's."""
    install_id = select(InstallId.id).limit(1).scalar_subquery()
    return (
        *(column.label(prefix + column.key) for column in User.__table__.columns),
        install_id.label(prefix + "install_id"),
    )


_GROUPS_OF_USERS = (
    select(user_groups.c.user_id, *Group.__table__.columns)
    .join(Group, Group.group_uuid == user_groups.c.group_uuid)
    .where(user_groups.c.user_id.in_(KEYS))
    .order_by(user_groups.c.user_id, Group.group_uuid)
)


_ROLES_OF_USERS = (
    select(user_roles.c.user_id, Role.role_uuid, Role.name)
    .join(Role, Role.role_uuid == user_roles.c.role_uuid)
    .where(user_roles.c.user_id.in_(KEYS))
    .order_by(user_roles.c.user_id, Role.name)
)
_ROLES_OF_GROUPS = (
    select(group_roles.c.group_uuid, Role.role_uuid, Role.name)
    .join(Role, Role.role_uuid == group_roles.c.role_uuid)
    .where(group_roles.c.group_uuid.in_(KEYS))
    .order_by(group_roles.c.group_uuid, Role.name)
)


def role_api(role) -> dict:
    """The Role representation, of a Role or a row with its uuid and name."""
    return {"pk": str(role.role_uuid), "name": role.name}


def _roles_of(connection: Connection, query, holders) -> dict:
    """Each holder's own roles (users' or groups', by `query`), as Roles by name; one
    query for all of them."""
    return grouped(connection, query, holders, role_api)


UserRelations = namedtuple("UserRelations", "groups roles")


def _relations_of_users(connection: Connection, user_ids) -> UserRelations:
    """Each user's groups and roles, for a page of users (or of their tokens)."""
    user_ids = list(user_ids)
    return UserRelations(
        _groups_of_users(connection, user_ids), _roles_of(connection, _ROLES_OF_USERS, user_ids)
    )


def _check_roles(connection: Connection, data: dict) -> dict:
    """Roles named must exist."""
    return missing_references(connection, Role.role_uuid, data, "roles")


def _write_roles(connection: Connection, link, holder, managed: str, data: dict) -> None:
    """A role list given replaces the holder's roles (`link`: user_role or group_role,
    by its holder column), except its own managed role, which stays while it does."""
    if "roles" not in data:
        return
    own = select(Role.role_uuid).where(Role.managed == managed).scalar_subquery()
    connection.execute(
        delete(link.table).where(link == holder, link.table.c.role_uuid.is_distinct_from(own))
    )
    kept = set(connection.scalars(select(link.table.c.role_uuid).where(link == holder)))
    rows = [
        {link.key: holder, "role_uuid": role}
        for role in dict.fromkeys(map(uuid.UUID, data["roles"]))
        if role not in kept
    ]
    if rows:
        connection.execute(insert(link.table), rows)


def _groups_of_users(connection: Connection, user_ids) -> dict[int, list[dict]]:
    """Each user's groups, as PartialGroups in pk order; one query for all of them."""
    return grouped(connection, _GROUPS_OF_USERS, user_ids, partial_group_api)


INTERNAL_SERVICE_ACCOUNT = "internal_service_account"  # authentik's own; not made here


def _represent_user(row, related: "UserRelations") -> dict:
    return user_api(row, related.groups.get(row.id, []), related.roles.get(row.id, []))


def _check_user(connection: Connection, row, data: dict) -> dict:
    """authentik's rules on user types; groups and roles named must exist."""
    problems = {}
    if row is not None and row.type == INTERNAL_SERVICE_ACCOUNT:
        return {"non_field_errors": ["Can't modify internal service account users"]}
    if row is None and data.get("type") == INTERNAL_SERVICE_ACCOUNT:
        problems["type"] = ["Setting a user to internal service account is not allowed."]
    problems.update(missing_references(connection, Group.group_uuid, data, "groups"))
    problems.update(_check_roles(connection, data))
    return problems


def _user_columns_of(data: dict) -> dict:
    """The columns; every write counts as an update, a group list's too (auto_now)."""
    values = {name: value for name, value in data.items() if name not in ("groups", "roles")}
    values["last_updated"] = now()
    if "last_login" in values and values["last_login"] is not None:
        values["last_login"] = _at(values["last_login"])
    return values


def _write_user_relations(connection: Connection, pk: int, data: dict) -> None:
    """A group list given replaces the user's memberships; a role list its roles."""
    _write_roles(connection, user_roles.c.user_id, pk, managed_role_name("user", pk), data)
    if "groups" not in data:
        return
    connection.execute(delete(user_groups).where(user_groups.c.user_id == pk))
    rows = [{"user_id": pk, "group_uuid": g} for g in dict.fromkeys(map(uuid.UUID, data["groups"]))]
    if rows:
        connection.execute(insert(user_groups), rows)


_USER_TOKENS = (
    select(Token.token_uuid, Token.identifier, Token.expiring, Token.expires)
    .where(Token.user_id == bindparam("pk"))
    .order_by(Token.token_uuid)
)
_USER_CONNECTIONS = (
    select(UserPlexSourceConnection.id, UserPlexSourceConnection.source_pk)
    .where(UserPlexSourceConnection.user_id == bindparam("pk"))
    .order_by(UserPlexSourceConnection.id)
)


def _user_used_by(connection: Connection, pk: int) -> list[dict]:
    """Its API tokens and its Plex connections, which go with it."""
    entries = [
        used_by_entry("authentik_core", "token", t.token_uuid,
                      token_label(t.identifier, t.expiring, t.expires), "cascade")
        for t in connection.execute(_USER_TOKENS, {"pk": pk})
    ]  # fmt: skip
    return entries + [
        used_by_entry("authentik_core", "usersourceconnection", c.id,
                      UserPlexSourceConnection.label(pk, c.source_pk), "cascade")
        for c in connection.execute(_USER_CONNECTIONS, {"pk": pk})
    ]  # fmt: skip


def _holders_of_roles(named_by, values: list):
    """The users holding directly any of the roles `named_by` (a column of Role) names."""
    return (
        select(user_roles.c.user_id)
        .join(Role, Role.role_uuid == user_roles.c.role_uuid)
        .where(named_by.in_(values))
    )


def _is_superuser(wanted: bool) -> list:
    return [IN_A_SUPERUSER_GROUP if wanted else ~IN_A_SUPERUSER_GROUP]


# Each side of a membership (user_group): its column there, and its model's key.
_MEMBERSHIP_SIDES = {
    User: (user_groups.c.user_id, User.id),
    Group: (user_groups.c.group_uuid, Group.group_uuid),
}


def _in_a_membership(own: type, other: type, named_by) -> Callable[[list], list]:
    """Filter clauses: `own` objects (users or groups) that share a membership with an
    `other` named by any of the values of `named_by`, a column of `other`."""
    own_link, own_pk = _MEMBERSHIP_SIDES[own]
    other_link, other_pk = _MEMBERSHIP_SIDES[other]

    def clauses(values: list) -> list:
        linked = select(own_link).join(other, other_pk == other_link).where(named_by.in_(values))
        return [own_pk.in_(linked)]

    return clauses


def _attributes_hold(column) -> Callable[[str], list]:
    """authentik's `attributes` filter on `column`: a JSON object, each of whose keys
    the object's attributes hold with an equal value."""
    return lambda text: _holding(column, text)


def _holding(column, text: str) -> list:
    try:
        wanted = json.loads(text)
    except ValueError:
        raise Invalid({"attributes": ["filter: failed to parse JSON"]}) from None
    if not isinstance(wanted, dict):
        raise Invalid({"attributes": ["filter: value must be key:value mapping"]})
    return [
        json_value_is(column, literal(key), literal(json.dumps(value)))
        for key, value in wanted.items()
    ]


def _at(value) -> datetime:
    """A date and time the spec has checked (app/validation.py) as a datetime."""
    return value if isinstance(value, datetime) else parse_datetime(str(value))


def _dates(name: str, column) -> dict:
    """Django's exact, __gt and __lt filters on a date column."""
    return {
        name: lambda value: [column == _at(value)],
        f"{name}__gt": lambda value: [column > _at(value)],
        f"{name}__lt": lambda value: [column < _at(value)],
    }


USERS = Resource(
    model=User,
    columns=_user_columns(),
    represent=_represent_user,
    related=lambda connection, rows: _relations_of_users(connection, [r.id for r in rows]),
    permission_model="authentik_core.user",
    lookup=User.id,
    not_found="No User matches the given query.",
    verbose_name="User",
    pk=User.id,
    filters={
        "email": User.email,
        "is_active": User.is_active,
        "name": User.name,
        "path": User.path,
        "username": User.username,
        "uuid": User.uuid,
    },
    relation_filters={
        "groups_by_name": Group.name,
        "groups_by_pk": Group.group_uuid,
        "roles_by_name": Role.name,
        "roles_by_pk": Role.role_uuid,
    },
    filter_clauses={
        "attributes": _attributes_hold(User.attributes),
        "type": lambda values: [User.type.in_(values)],
        "path_startswith": lambda prefix: [User.path.startswith(prefix, autoescape=True)],
        "is_superuser": _is_superuser,
        "groups_by_name": _in_a_membership(User, Group, Group.name),
        "groups_by_pk": lambda pks: _in_a_membership(User, Group, Group.group_uuid)(
            [uuid.UUID(pk) for pk in pks]
        ),
        "roles_by_name": lambda names: [User.id.in_(_holders_of_roles(Role.name, names))],
        "roles_by_pk": lambda pks: [
            User.id.in_(_holders_of_roles(Role.role_uuid, [uuid.UUID(pk) for pk in pks]))
        ],
        # How the answer is shown, not which users (app/crud.py).
        "include_groups": lambda value: [],
        "include_roles": lambda value: [],
        "last_login__isnull": lambda isnull: [
            User.last_login.is_(None) if isnull else User.last_login.is_not(None)
        ],
        **_dates("date_joined", User.date_joined),
        **_dates("last_login", User.last_login),
        **_dates("last_updated", User.last_updated),
    },
    search=(User.email, User.name, uuid_text(User.uuid), User.username),
    ordering={
        "pk": User.id,
        "username": User.username,
        "name": User.name,
        "is_active": User.is_active,
        "last_login": User.last_login,
        "date_joined": User.date_joined,
        "email": User.email,
        "path": User.path,
        "type": User.type,
        "uuid": User.uuid,
        "password_change_date": User.password_change_date,
        "last_updated": User.last_updated,
    },
    default_ordering=("username", "date_joined", "last_updated", "last_login"),
    unique={"username": "This field must be unique."},
    check_references=_check_user,
    columns_of=_user_columns_of,
    write_related=_write_user_relations,
    used_by=_user_used_by,
    managed_role="user",
)


# -- API tokens ------------------------------------------------------------------------


TOKEN_INTENTS = ("api", "app_password")  # those the API makes; authentik has two more
API_TOKEN_DURATION = timedelta(days=1)


def token_label(identifier: str, expiring: bool, expires) -> str:
    """How authentik names a token (its str())."""
    return f"{identifier} (expires={expires})" if expiring else identifier


def _represent_token(row, related: UserRelations) -> dict:
    return token_api(row, _represent_user(_Prefixed(row, "user__"), related))


def _check_token(connection: Connection, row, data: dict) -> dict:
    """Only API tokens and app passwords are made here; the user must exist; a key set
    must be no other token's."""
    problems = {}
    intent = data.get("intent")
    if intent is not None and intent not in TOKEN_INTENTS:
        problems["intent"] = [f"Invalid intent {intent}"]
    user = data.get("user")
    if user is not None and row is not None and user != row.user_id:
        problems["user"] = ["User cannot be changed"]
    elif user is not None and not exists(connection, User, user):
        problems["user"] = [DOES_NOT_EXIST.format(pk=user)]
    if "key" in data:
        taken = select(Token.token_uuid).where(Token.key_digest == Token.digest(data["key"]))
        if row is not None:
            taken = taken.where(Token.token_uuid != row.token_uuid)
        if connection.scalar(taken) is not None:
            problems["key"] = ["Token with this key already exists."]
    return problems


def _token_columns_of(data: dict) -> dict:
    """The columns; an API token expires a day after it is made or its intent set,
    whatever the body says (authentik's default token duration; it counts only while
    `expiring`)."""
    values = {}
    if data.get("intent") == "api":
        data = {**data, "expires": now() + API_TOKEN_DURATION}
    for name, value in data.items():
        if name == "user":
            values["user_id"] = value
        elif name == "key":
            values["key_digest"] = Token.digest(value)
        elif name == "expires":
            values["expires"] = None if value is None else _at(value)
        else:
            values[name] = value
    return values


TOKENS = Resource(
    model=Token,
    columns=(
        *(c for c in Token.__table__.columns if c.key != "key_digest"),
        *_user_columns("user__"),
    ),
    represent=_represent_token,
    related=lambda connection, rows: _relations_of_users(connection, [r.user_id for r in rows]),
    selected_from=Token.__table__.join(User, User.id == Token.user_id),
    permission_model="authentik_core.token",
    lookup=Token.identifier,
    not_found="No Token matches the given query.",
    verbose_name="Token",
    label=lambda t: token_label(
        t["identifier"], t["expiring"], t["expires"] and parse_datetime(t["expires"])
    ),
    pk=Token.token_uuid,
    filters={
        "description": Token.description,
        "expiring": Token.expiring,
        "identifier": Token.identifier,
        "intent": Token.intent,
        "managed": Token.managed,
        "user__username": User.username,
    },
    filter_clauses={"expires": lambda value: [Token.expires == _at(value)]},
    search=(Token.identifier, Token.intent, User.username, Token.description),
    ordering={
        "pk": Token.token_uuid,
        "identifier": Token.identifier,
        "intent": Token.intent,
        "user": Token.user_id,
        "description": Token.description,
        "expires": Token.expires,
        "expiring": Token.expiring,
        "managed": Token.managed,
    },
    default_ordering=("identifier", "expires"),
    unique={
        "identifier": "Token with this identifier already exists.",
        "managed": "Token with this Managed by authentik already exists.",
    },
    owner=Token.user_id,
    self_service=True,
    more_permissions={"view_token_key": "View token's key", "set_token_key": "Set a token's key"},
    check_references=_check_token,
    columns_of=_token_columns_of,
)


# -- groups ----------------------------------------------------------------------------

_MEMBERS_OF_GROUPS = (
    select(user_groups.c.group_uuid, *_user_columns())
    .join(User, User.id == user_groups.c.user_id)
    .where(user_groups.c.group_uuid.in_(KEYS))
    .order_by(user_groups.c.group_uuid, User.id)
)


GroupRelations = namedtuple("GroupRelations", "members roles")


def _relations_of_groups(connection: Connection, rows) -> GroupRelations:
    """Each group's members, as PartialUsers in pk order, and its roles; one query for
    each, for all of them."""
    groups = [row.group_uuid for row in rows]
    members = grouped(connection, _MEMBERS_OF_GROUPS, groups, partial_user_api)
    return GroupRelations(members, _roles_of(connection, _ROLES_OF_GROUPS, groups))


NO_HIERARCHY = "Group hierarchies are not supported by this server: parents must be empty."


def _check_group(connection: Connection, _row, data: dict) -> dict:
    """Members and roles named must exist; no parents can be named here."""
    problems = {}
    if data.get("parents"):
        problems["parents"] = [NO_HIERARCHY]
    problems.update(missing_references(connection, User.id, data, "users"))
    problems.update(_check_roles(connection, data))
    return problems


def _group_columns_of(data: dict) -> dict:
    return {name: v for name, v in data.items() if name not in ("users", "roles", "parents")}


def _write_group_relations(connection: Connection, pk: uuid.UUID, data: dict) -> None:
    """A member list given replaces the group's members; a role list its roles."""
    managed = managed_role_name("group", pk)
    _write_roles(connection, group_roles.c.group_uuid, pk, managed, data)
    if "users" not in data:
        return
    connection.execute(delete(user_groups).where(user_groups.c.group_uuid == pk))
    rows = [{"user_id": user, "group_uuid": pk} for user in dict.fromkeys(data["users"])]
    if rows:
        connection.execute(insert(user_groups), rows)


_GROUP_MEMBERS = (
    select(User.id, User.username)
    .join(user_groups, user_groups.c.user_id == User.id)
    .where(user_groups.c.group_uuid == bindparam("pk"))
    .order_by(User.id)
)


def _group_used_by(connection: Connection, pk: uuid.UUID) -> list[dict]:
    """Its members: deleting the group takes them out of it (a many-to-many)."""
    return [
        used_by_entry("authentik_core", "user", user.id, user.username, "cascade_many")
        for user in connection.execute(_GROUP_MEMBERS, {"pk": pk})
    ]


GROUPS = Resource(
    model=Group,
    columns=tuple(Group.__table__.columns),
    represent=lambda row, related: group_api(
        row, related.members.get(row.group_uuid, []), related.roles.get(row.group_uuid, [])
    ),
    related=_relations_of_groups,
    permission_model="authentik_core.group",
    lookup=Group.group_uuid,
    not_found="No Group matches the given query.",
    verbose_name="Group",
    pk=Group.group_uuid,
    filters={"name": Group.name, "is_superuser": Group.is_superuser},
    relation_filters={"members_by_pk": User.id, "members_by_username": User.username},
    filter_clauses={
        "attributes": _attributes_hold(Group.attributes),
        "members_by_pk": _in_a_membership(Group, User, User.id),
        "members_by_username": _in_a_membership(Group, User, User.username),
        # How the answer is shown, not which groups (handlers/core_groups.py).
        **{
            f"include_{name}": lambda value: []
            for name in ("users", "children", "parents", "inherited_roles")
        },
    },  # fmt: skip
    search=(Group.name,),
    ordering={"pk": Group.group_uuid, "name": Group.name, "is_superuser": Group.is_superuser},
    default_ordering=("name",),
    unique={"name": "Group with this name already exists."},
    check_references=_check_group,
    columns_of=_group_columns_of,
    write_related=_write_group_relations,
    used_by=_group_used_by,
    managed_role="group",
    more_permissions={
        "add_user_to_group": "Add user to group",
        "remove_user_from_group": "Remove user from group",
        "enable_group_superuser": "Enable superuser status",
        "disable_group_superuser": "Disable superuser status",
    },
)


# -- roles -----------------------------------------------------------------------------

_ROLE_USERS = (
    select(User.id, User.username)
    .join(user_roles, user_roles.c.user_id == User.id)
    .where(user_roles.c.role_uuid == bindparam("pk"))
    .order_by(User.id)
)
_ROLE_GROUPS = (
    select(Group.group_uuid, Group.name)
    .join(group_roles, group_roles.c.group_uuid == Group.group_uuid)
    .where(group_roles.c.role_uuid == bindparam("pk"))
    .order_by(Group.group_uuid)
)
_ROLE_INITIAL_PERMISSIONS = (
    select(InitialPermissions.id)
    .where(InitialPermissions.role_uuid == bindparam("pk"))
    .order_by(InitialPermissions.id)
)


def initial_permissions_label(role_uuid) -> str:
    """How authentik names a set of initial permissions (its str())."""
    return f"Initial Permissions for Role #{role_uuid}."


def _role_used_by(connection: Connection, pk: uuid.UUID) -> list[dict]:
    """Its holders, which lose it with it, and the initial permissions naming it, which
    go with it."""
    return [
        *(used_by_entry("authentik_core", "user", u.id, u.username, "cascade_many")
          for u in connection.execute(_ROLE_USERS, {"pk": pk})),
        *(used_by_entry("authentik_core", "group", g.group_uuid, f"Group {g.name}", "cascade_many")
          for g in connection.execute(_ROLE_GROUPS, {"pk": pk})),
        *(used_by_entry("authentik_rbac", "initialpermissions", i.id,
                        initial_permissions_label(pk), "cascade")
          for i in connection.execute(_ROLE_INITIAL_PERMISSIONS, {"pk": pk})),
    ]  # fmt: skip


def _roles_held(filters: dict) -> list:
    """authentik's `users` and `groups` filters on roles: the roles held directly, or
    with `inherited`, a user's through its groups too (groups have no ancestors here)."""
    terms = []
    user = filters.get("users")
    if user is not None:
        user = column_key(User.id, user)
        if user is None:
            return [false()]
        held = select(user_roles.c.role_uuid).where(user_roles.c.user_id == user)
        if filters.get("inherited") is True:
            held = roles_of(user)
        terms.append(Role.role_uuid.in_(held))
    group = filters.get("groups")
    if group is not None:
        group = column_key(Group.group_uuid, group)
        if group is None:
            return [false()]
        held = select(group_roles.c.role_uuid).where(group_roles.c.group_uuid == group)
        terms.append(Role.role_uuid.in_(held))
    return terms


ROLES = Resource(
    model=Role,
    columns=(Role.role_uuid, Role.name, Role.managed),
    represent=role_api,
    permission_model="authentik_rbac.role",
    lookup=Role.role_uuid,
    not_found="No Role matches the given query.",
    pk=Role.role_uuid,
    filters={"name": Role.name},
    filter_clauses={
        "managed": lambda names: [Role.managed.in_(names)],
        "managed__isnull": lambda isnull: [
            Role.managed.is_(None) if isnull else Role.managed.is_not(None)
        ],
        # _roles_held reads these together.
        "users": lambda value: [],
        "groups": lambda value: [],
        "inherited": lambda value: [],
    },
    combined_filters=_roles_held,
    search=(Role.name,),
    ordering={"pk": Role.role_uuid, "name": Role.name},
    default_ordering=("name",),
    unique={"name": "Role with this name already exists."},
    used_by=_role_used_by,
    verbose_name="Role",
    more_permissions={
        "assign_role_permissions": "Can assign permissions to users",
        "unassign_role_permissions": "Can unassign permissions from users",
    },
)


# The permissions of a page of roles, for /rbac/permissions/assigned_by_roles/.
_PERMISSIONS_OF_ROLES = (
    select(RolePermission.role_uuid, RolePermission.id, RolePermission.codename,
           RolePermission.object_pk)
    .where(RolePermission.role_uuid.in_(KEYS))
    .order_by(RolePermission.role_uuid, RolePermission.id)
)  # fmt: skip


def _permissions_of_roles(connection: Connection, rows) -> dict:
    return grouped(connection, _PERMISSIONS_OF_ROLES, [row.role_uuid for row in rows], _itself)


def _itself(row):
    return row


def _assigned_by_role(row, held: dict) -> dict:
    """A RoleAssignedObjectPermission: the role with all its permissions, global ones
    (`model_permissions`) and those on single objects."""
    model_permissions, object_permissions = [], []
    for permission in held.get(row.role_uuid, []):
        known = PERMISSIONS_BY_CODENAME.get(permission.codename)
        if known is None:  # a codename this server no longer serves
            continue
        entry = {
            "id": permission.id,
            "codename": known.codename,
            "model": known.resource.model_name,
            "app_label": known.resource.app_label,
        }
        if permission.object_pk is None:
            model_permissions.append({**entry, "name": known.name})
        else:
            object_permissions.append(
                {**entry, "object_pk": permission.object_pk, "name": known.name}
            )
    return {
        "role_pk": str(row.role_uuid),
        "name": row.name,
        "object_permissions": object_permissions,
        "model_permissions": model_permissions,
    }


def _holding_permissions_of(filters: dict) -> list:
    """The roles holding a permission of the `model` filter's model globally, or, with
    `object_pk`, on that object too (authentik lists both)."""
    resource = RESOURCES_BY_MODEL[filters["model"]]
    held = RolePermission.codename.in_(resource.codenames)
    on = RolePermission.object_pk.is_(None)
    if filters.get("object_pk") is not None:
        on = or_(on, RolePermission.object_pk == filters["object_pk"])
    return [Role.role_uuid.in_(select(RolePermission.role_uuid).where(held, on))]


ASSIGNED_BY_ROLES = replace(
    ROLES,
    represent=_assigned_by_role,
    related=_permissions_of_roles,
    filters={},
    filter_clauses={"model": lambda value: [], "object_pk": lambda value: []},
    combined_filters=_holding_permissions_of,
    ordering={"name": Role.name},
)


# -- initial permissions ---------------------------------------------------------------

_CODENAMES_OF_SETS = (
    select(initial_permission_codenames.c.initial_id, initial_permission_codenames.c.codename)
    .where(initial_permission_codenames.c.initial_id.in_(KEYS))
    .order_by(initial_permission_codenames.c.initial_id)
)


def _codenames_of_sets(connection: Connection, rows) -> dict:
    return grouped(connection, _CODENAMES_OF_SETS, [row.id for row in rows], _codename)


def _codename(row) -> str:
    return row.codename


def _represent_initial_permissions(row, codenames: dict) -> dict:
    held = sorted(
        (
            PERMISSIONS_BY_CODENAME[c]
            for c in codenames.get(row.id, ())
            if c in PERMISSIONS_BY_CODENAME
        ),
        key=lambda permission: permission.id,
    )
    return {
        "pk": row.id,
        "name": row.name,
        "role": str(row.role_uuid),
        "permissions": [permission.id for permission in held],
        "permissions_obj": [permission_api(permission) for permission in held],
    }


def _check_initial_permissions(connection: Connection, _row, data: dict) -> dict:
    """The role must exist, and each permission id name a permission of the catalogue."""
    problems = {}
    role = data.get("role")
    if role is not None and not exists(connection, Role, uuid.UUID(role)):
        problems["role"] = [DOES_NOT_EXIST.format(pk=role)]
    missing = next(
        (pk for pk in data.get("permissions") or [] if pk not in PERMISSIONS_BY_ID), None
    )
    if missing is not None:
        problems["permissions"] = [DOES_NOT_EXIST.format(pk=missing)]
    return problems


def _initial_permissions_columns_of(data: dict) -> dict:
    values = {name: value for name, value in data.items() if name not in ("role", "permissions")}
    if "role" in data:
        values["role_uuid"] = uuid.UUID(data["role"])
    return values


def _write_initial_codenames(connection: Connection, pk: int, data: dict) -> None:
    """A permission list given replaces the set's permissions."""
    if "permissions" not in data:
        return
    table = initial_permission_codenames
    connection.execute(delete(table).where(table.c.initial_id == pk))
    codenames = dict.fromkeys(PERMISSIONS_BY_ID[pk_].full_codename for pk_ in data["permissions"])
    if codenames:
        connection.execute(
            insert(table), [{"initial_id": pk, "codename": codename} for codename in codenames]
        )


INITIAL_PERMISSIONS = Resource(
    model=InitialPermissions,
    columns=tuple(InitialPermissions.__table__.columns),
    represent=_represent_initial_permissions,
    related=_codenames_of_sets,
    permission_model="authentik_rbac.initialpermissions",
    lookup=InitialPermissions.id,
    not_found="No InitialPermissions matches the given query.",
    pk=InitialPermissions.id,
    filters={"name": InitialPermissions.name},
    search=(InitialPermissions.name,),
    ordering={"pk": InitialPermissions.id, "name": InitialPermissions.name},
    default_ordering=("name",),
    unique={"name": "Initial Permissions with this name already exists."},
    check_references=_check_initial_permissions,
    columns_of=_initial_permissions_columns_of,
    write_related=_write_initial_codenames,
    verbose_name="Initial Permissions",
)


def initial_grants(connection: Connection, resource: Resource, pk, creator: int) -> None:
    """Give the roles that `creator` holds the permissions their initial-permissions
    sets name on the object it has just created (those of the object's model)."""
    wanted = {"creator": creator, "codenames": resource.codenames}
    rows = [
        {"role_uuid": role, "codename": codename, "object_pk": str(pk)}
        for role, codename in connection.execute(_INITIAL_PERMISSIONS_WANTED, wanted)
    ]
    if rows:
        connection.execute(insert(RolePermission), rows)


# Built once: SQLAlchemy then skips working out its cache key at each create.
_INITIAL_PERMISSIONS_WANTED = (
    select(InitialPermissions.role_uuid, initial_permission_codenames.c.codename)
    .join(
        initial_permission_codenames,
        initial_permission_codenames.c.initial_id == InitialPermissions.id,
    )
    .where(
        InitialPermissions.role_uuid.in_(roles_of(bindparam("creator"))),
        initial_permission_codenames.c.codename.in_(bindparam("codenames", expanding=True)),
    )
    .distinct()
)


# -- events ----------------------------------------------------------------------------


def _context_model_pk(value: str) -> list:
    """authentik's context_model_pk: hyphens do not count, so a UUID matches in either
    form (events hold UUIDs as 32 hex digits)."""
    return [Event.model_pk == value.replace("-", "")]


EVENTS = Resource(
    model=Event,
    columns=tuple(Event.__table__.columns),
    represent=event_api,
    permission_model="authentik_events.event",
    lookup=Event.id,
    not_found="No Event matches the given query.",
    pk=Event.id,
    filters={
        "client_ip": Event.client_ip,
        "context_model_app": Event.model_app,
        "context_model_name": Event.model_name,
        "username": Event.username,
    },
    filter_clauses={
        "action": lambda text: [Event.action.icontains(text, autoescape=True)],
        "actions": lambda actions: [Event.action.in_(actions)],
        "context_model_pk": _context_model_pk,
        # No brands, authorized applications or devices are kept here: nothing matches.
        "brand_name": lambda value: [false()],
        "context_authorized_app": lambda value: [false()],
        "context_device": lambda value: [false()],
    },
    search=(
        uuid_text(Event.id),
        cast(Event.user, String),
        Event.action,
        Event.app,
        cast(Event.context, String),
        Event.client_ip,
    ),
    ordering={
        "pk": Event.id,
        "action": Event.action,
        "app": Event.app,
        "client_ip": Event.client_ip,
        "created": Event.created,
        "expires": Event.expires,
        "user": Event.username,
    },
    default_ordering=("-created",),
    verbose_name="Event",
)


RESOURCES = (
    SOURCES, FLOWS, PLEX_MAPPINGS, CONNECTIONS, USERS, TOKENS, GROUPS, ROLES,
    INITIAL_PERMISSIONS, EVENTS,
)  # fmt: skip
RESOURCES_BY_MODEL = {resource.permission_model: resource for resource in RESOURCES}

# What a UsedBy entry's `model_name` is served as, to check that the caller may view it.
USED_BY_MODELS = {
    "source": SOURCES,
    "propertymapping": PLEX_MAPPINGS,
    "usersourceconnection": CONNECTIONS,
    "token": TOKENS,
    "user": USERS,
    "group": GROUPS,
    "initialpermissions": INITIAL_PERMISSIONS,
}


# -- the permission catalogue (/rbac/permissions/) ---------------------------------------

APP_VERBOSE_NAMES = {
    "authentik_core": "authentik Core",
    "authentik_events": "authentik Events",
    "authentik_flows": "authentik Flows",
    "authentik_rbac": "authentik RBAC",
    "authentik_sources_plex": "authentik Sources.Plex",
}
# The models whose permissions the catalogue lists, in the order that numbers them: ids
# must not change between releases, so models are only ever appended.
CATALOGUE_ORDER = (
    "authentik_sources_plex.plexsource",
    "authentik_sources_plex.plexsourcepropertymapping",
    "authentik_sources_plex.userplexsourceconnection",
    "authentik_flows.flow",
    "authentik_core.user",
    "authentik_core.group",
    "authentik_core.token",
    "authentik_rbac.role",
    "authentik_rbac.initialpermissions",
    "authentik_events.event",
)


@dataclass(frozen=True)
class Permission:
    id: int
    codename: str  # without the app label, as Django names it
    name: str
    resource: Resource

    @property
    def full_codename(self) -> str:
        return f"{self.resource.app_label}.{self.codename}"


def _catalogue() -> tuple[Permission, ...]:
    permissions = []
    for model in CATALOGUE_ORDER:
        resource = RESOURCES_BY_MODEL[model]
        names = {
            **{f"{a}_{resource.model_name}": f"Can {a} {resource.verbose_name}" for a in ACTIONS},
            **resource.more_permissions,
        }
        for codename, name in names.items():
            permissions.append(Permission(len(permissions) + 1, codename, name, resource))
    return tuple(permissions)


PERMISSIONS = _catalogue()
PERMISSIONS_BY_ID = {permission.id: permission for permission in PERMISSIONS}
PERMISSIONS_BY_CODENAME = {permission.full_codename: permission for permission in PERMISSIONS}


def permission_api(permission: Permission) -> dict:
    """The Permission representation."""
    resource = permission.resource
    return {
        "id": permission.id,
        "name": permission.name,
        "codename": permission.codename,
        "model": resource.model_name,
        "app_label": resource.app_label,
        "app_label_verbose": APP_VERBOSE_NAMES[resource.app_label],
        "model_verbose": resource.verbose_name,
    }
