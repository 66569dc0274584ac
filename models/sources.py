"""Plex sources and the objects they point at (flows and property mappings)."""

import secrets
import string
import uuid

from sqlalchemy import JSON, Boolean, Column, ForeignKey, String, Table, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base

PLEX_ICON_URL = "/static/authentik/sources/plex.svg"
THEME_PLACEHOLDER = "%(theme)s"


_ID_ALPHABET = string.ascii_letters + string.digits  # 62 characters


def generate_client_id() -> str:
    """authentik's generate_id(): 40 random letters and digits, each drawn uniformly.
    One read of random bytes instead of one per character: a byte below 248 (4 × 62)
    taken modulo 62 is uniform; the others are skipped."""
    drawn: list[str] = []
    while len(drawn) < 40:
        drawn += [_ID_ALPHABET[byte % 62] for byte in secrets.token_bytes(48) if byte < 248]
    return "".join(drawn[:40])


FLOW_BACKGROUND_URL = "/static/dist/assets/images/flow_background.jpg"


def file_url(name: str, default: str) -> str:
    """authentik's URL for a stored file field: URLs and /static paths pass through,
    other names are media files, and an empty field shows the default."""
    if not name:
        return default
    if name.startswith(("http:", "https:", "fa://", "/static")):
        return name
    return f"/media/{name}"


def themed_urls(name: str, url: str) -> dict[str, str] | None:
    """Light and dark URLs when the file name carries the `%(theme)s` placeholder."""
    if THEME_PLACEHOLDER not in name:
        return None
    return {theme: url.replace(THEME_PLACEHOLDER, theme) for theme in ("light", "dark")}


class Flow(Base):
    """A flow a source sends people to. Stages and policies are not modelled: a flow
    here is what a reference to it needs, with authentik's fields and defaults."""

    __tablename__ = "flow"

    flow_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text)
    designation: Mapped[str] = mapped_column(String(32), index=True)
    background: Mapped[str] = mapped_column(Text, default="")
    policy_engine_mode: Mapped[str] = mapped_column(String(8), default="any")
    compatibility_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    layout: Mapped[str] = mapped_column(String(32), default="stacked")
    denied_action: Mapped[str] = mapped_column(String(32), default="message_continue")
    authentication: Mapped[str] = mapped_column(String(32), default="none")

    def __str__(self) -> str:
        return f"Flow {self.name} ({self.slug})"


def flow_api(flow) -> dict:
    """The Flow representation, in authentik's serializer field order. `flow` is a Flow
    or a row of the flow table: anything with its columns as attributes."""
    background_url = file_url(flow.background, FLOW_BACKGROUND_URL)
    return {
        "pk": str(flow.flow_uuid),
        "policybindingmodel_ptr_id": str(flow.flow_uuid),
        "name": flow.name,
        "slug": flow.slug,
        "title": flow.title,
        "designation": flow.designation,
        "background": flow.background,
        "background_url": background_url,
        "background_themed_urls": themed_urls(flow.background, background_url),
        "stages": [],
        "policies": [],
        "cache_count": 0,
        "policy_engine_mode": flow.policy_engine_mode,
        "compatibility_mode": flow.compatibility_mode,
        "export_url": f"/api/v3/flows/instances/{flow.slug}/export/",
        "layout": flow.layout,
        "denied_action": flow.denied_action,
        "authentication": flow.authentication,
    }


class PropertyMapping(Base):
    """A Plex source property mapping. Its expression is stored, never run."""

    __tablename__ = "property_mapping"

    pm_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    managed: Mapped[str | None] = mapped_column(Text, unique=True, nullable=True, default=None)
    name: Mapped[str] = mapped_column(Text, unique=True)
    expression: Mapped[str] = mapped_column(Text, default="")

    def __str__(self) -> str:
        return self.label(self.name)

    @staticmethod
    def label(name: str) -> str:
        return f"Property Mapping {name}"


def mapping_api(mapping) -> dict:
    """The PlexSourcePropertyMapping representation, of a mapping or a row of its table."""
    return {
        "pk": str(mapping.pm_uuid),
        "managed": mapping.managed,
        "name": mapping.name,
        "expression": mapping.expression,
        "component": "ak-property-mapping-source-plex-form",
        "verbose_name": "Plex Source Property Mapping",
        "verbose_name_plural": "Plex Source Property Mappings",
        "meta_model_name": "authentik_sources_plex.plexsourcepropertymapping",
    }


def _mapping_table(name: str) -> Table:
    return Table(
        name,
        Base.metadata,
        Column(
            "source_pk", ForeignKey("plex_source.pbm_uuid", ondelete="CASCADE"), primary_key=True
        ),
        Column(
            "mapping_pk",
            ForeignKey("property_mapping.pm_uuid", ondelete="CASCADE"),
            primary_key=True,
        ),
    )


user_property_mappings = _mapping_table("source_user_property_mapping")
group_property_mappings = _mapping_table("source_group_property_mapping")


class PlexSource(Base):
    __tablename__ = "plex_source"

    pbm_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text, index=True)
    slug: Mapped[str] = mapped_column(String(50), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    promoted: Mapped[bool] = mapped_column(Boolean, default=False)
    authentication_flow_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("flow.flow_uuid", ondelete="SET NULL"), nullable=True, index=True
    )
    enrollment_flow_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("flow.flow_uuid", ondelete="SET NULL"), nullable=True, index=True
    )
    policy_engine_mode: Mapped[str] = mapped_column(String(8), default="any")
    user_matching_mode: Mapped[str] = mapped_column(String(16), default="identifier")
    managed: Mapped[str | None] = mapped_column(Text, nullable=True, default=None)
    user_path_template: Mapped[str] = mapped_column(Text, default="goauthentik.io/sources/%(slug)s")
    icon: Mapped[str] = mapped_column(Text, default="")
    group_matching_mode: Mapped[str] = mapped_column(String(16), default="identifier")
    client_id: Mapped[str] = mapped_column(Text, default=generate_client_id)
    allowed_servers: Mapped[list[str]] = mapped_column(JSON, default=list)
    allow_friends: Mapped[bool] = mapped_column(Boolean, default=True)
    plex_token: Mapped[str] = mapped_column(Text)

    user_property_mappings: Mapped[list[PropertyMapping]] = relationship(
        secondary=user_property_mappings, order_by=PropertyMapping.pm_uuid
    )
    group_property_mappings: Mapped[list[PropertyMapping]] = relationship(
        secondary=group_property_mappings, order_by=PropertyMapping.pm_uuid
    )

    def __str__(self) -> str:
        return self.name


def source_api(source, user_mappings, group_mappings) -> dict:
    """The PlexSource representation, in authentik's serializer field order: `source` is
    a PlexSource or a row of its table (anything with its columns as attributes), the
    mapping lists are the primary keys of its property mappings."""
    icon_url = file_url(source.icon, PLEX_ICON_URL)
    return {
        "pk": str(source.pbm_uuid),
        "name": source.name,
        "slug": source.slug,
        "enabled": source.enabled,
        "promoted": source.promoted,
        "authentication_flow": _str_or_none(source.authentication_flow_id),
        "enrollment_flow": _str_or_none(source.enrollment_flow_id),
        # In pk order, however the database returned them.
        "user_property_mappings": sorted(str(pk) for pk in user_mappings),
        "group_property_mappings": sorted(str(pk) for pk in group_mappings),
        "component": "ak-source-plex-form",
        "verbose_name": "Plex Source",
        "verbose_name_plural": "Plex Sources",
        "meta_model_name": "authentik_sources_plex.plexsource",
        "policy_engine_mode": source.policy_engine_mode,
        "user_matching_mode": source.user_matching_mode,
        "managed": source.managed,
        "user_path_template": source.user_path_template,
        "icon": source.icon,
        "icon_url": icon_url,
        "icon_themed_urls": themed_urls(source.icon, icon_url),
        "group_matching_mode": source.group_matching_mode,
        "client_id": source.client_id,
        "allowed_servers": list(source.allowed_servers),
        "allow_friends": source.allow_friends,
        "plex_token": source.plex_token,
    }


def _str_or_none(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
