"""What a Plex login leaves behind: user connections, pending logins and events."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, api_datetime, now
from models.identity import User
from models.sources import Flow, PlexSource

# The fields of authentik's generic Source serializer, which `source_obj` carries.
SOURCE_FIELDS = 20


class UserPlexSourceConnection(Base):
    """A user's Plex account on a source: one per user and source."""

    __tablename__ = "user_plex_source_connection"
    __table_args__ = (UniqueConstraint("user_id", "source_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    source_pk: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("plex_source.pbm_uuid", ondelete="CASCADE"), index=True
    )
    identifier: Mapped[str] = mapped_column(Text, index=True)
    plex_token: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    user: Mapped[User] = relationship()
    source: Mapped[PlexSource] = relationship()

    def __str__(self) -> str:
        return self.label(self.user_id, self.source_pk)

    @staticmethod
    def label(user_id: int, source_pk: uuid.UUID) -> str:
        return f"User-source connection (user={user_id}, source={source_pk})"


def connection_api(connection, source: dict) -> dict:
    """The UserPlexSourceConnection representation, of a connection or a row of its
    table, given its source's representation."""
    return {
        "pk": connection.id,
        "user": connection.user_id,
        "source": str(connection.source_pk),
        "source_obj": dict(list(source.items())[:SOURCE_FIELDS]),
        "identifier": connection.identifier,
        "created": api_datetime(connection.created),
        "last_updated": api_datetime(connection.last_updated),
    }


class PendingLogin(Base):
    """A Plex account that passed the access checks, waiting for its flow to run."""

    __tablename__ = "pending_login"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    source_pk: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("plex_source.pbm_uuid", ondelete="CASCADE"), index=True
    )
    identifier: Mapped[str] = mapped_column(Text)
    user_info: Mapped[dict] = mapped_column(JSON)
    action: Mapped[str] = mapped_column(String(16))  # "authenticate" or "enroll"
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), nullable=True
    )
    flow_uuid: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("flow.flow_uuid", ondelete="SET NULL"), nullable=True
    )
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    flow: Mapped[Flow | None] = relationship()
