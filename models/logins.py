"""The store's part of a Plex login: which user a Plex account is, pending logins,
connections and events. Mixed into the Store."""

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from models.errors import Denied, NotFound, Refused
from models.events import Audit, Event, model_dict
from models.identity import User
from models.plex import PendingLogin, UserPlexSourceConnection, now
from models.resources import SOURCES, get_or_404
from models.sources import Flow, PlexSource

PENDING_LOGIN_LIFETIME = timedelta(minutes=30)
# The `app` of events about logins and the token check, as authentik names the parts
# that record them.
LOGIN_EVENTS_APP = "authentik.sources.plex"
DENIED = (
    "Request to authenticate with {name} has been denied. Please authenticate with the "
    "source you've previously signed up with."
)


@dataclass(frozen=True)
class LoginSource:
    pk: uuid.UUID
    name: str
    slug: str
    client_id: str
    plex_token: str
    allow_friends: bool
    allowed_servers: list[str]

    @classmethod
    def of(cls, source: PlexSource) -> "LoginSource":
        return cls(
            source.pbm_uuid,
            source.name,
            source.slug,
            source.client_id,
            source.plex_token,
            source.allow_friends,
            list(source.allowed_servers),
        )


_SOURCE_MODEL = ("authentik_sources_plex", "plexsource")


def _source_dict(source: LoginSource) -> dict:
    return model_dict(*_SOURCE_MODEL, source.pk, source.name)


class LoginsMixin:
    def login_source(self, slug: str) -> LoginSource:
        with self._read() as session:
            return LoginSource.of(get_or_404(session, SOURCES, slug))

    def link_plex_account(
        self,
        user_id: int,
        source_pk: uuid.UUID,
        identifier: str,
        plex_token: str,
        audit: Audit | None = None,
    ) -> None:
        """Create the user's connection to the source, or update it (one per pair). A
        new connection records `source_linked` with `audit`, the caller's request."""
        try:
            with self._write() as session:
                self._link(session, user_id, source_pk, identifier, plex_token, audit)
        except IntegrityError:
            # A simultaneous call created it first (PostgreSQL); now it is there to update.
            with self._write() as session:
                self._link(session, user_id, source_pk, identifier, plex_token, audit)

    def _link(self, session, user_id, source_pk, identifier, plex_token, audit=None) -> None:
        connection = session.scalar(
            select(UserPlexSourceConnection).where(
                UserPlexSourceConnection.user_id == user_id,
                UserPlexSourceConnection.source_pk == source_pk,
            )
        )
        linked = connection is None
        if linked:
            connection = UserPlexSourceConnection(user_id=user_id, source_pk=source_pk)
            session.add(connection)
        connection.identifier = identifier
        connection.plex_token = plex_token
        connection.last_updated = now()
        if linked and audit is not None:
            self._record_login_event(session, "source_linked", source_pk, user_id, audit)

    def begin_login(
        self,
        source_pk: uuid.UUID,
        identifier: str,
        info: dict,
        plex_token: str,
        audit: Audit | None = None,
    ) -> tuple[str, uuid.UUID]:
        """Decide, as authentik's source flow manager does, whether the Plex account
        authenticates an existing user or enrols a new one; store the pending login and
        return the slug of the flow to run and the pending login's id. With `audit`
        (the request), an existing user's login records `login` (and a link made by a
        `*_link` matching mode `source_linked`)."""
        with self._write() as session:
            source = session.get(PlexSource, source_pk)
            if source is None:
                raise NotFound(SOURCES.not_found)
            user_id = session.scalar(
                select(UserPlexSourceConnection.user_id).where(
                    UserPlexSourceConnection.source_pk == source_pk,
                    UserPlexSourceConnection.identifier == identifier,
                )
            )
            mode = source.user_matching_mode
            if user_id is None and mode != "identifier":
                field = User.email if mode.startswith("email") else User.username
                value = info.get("email" if mode.startswith("email") else "username")
                match = session.scalar(select(User.id).where(field == value)) if value else None
                if match is not None and mode.endswith("_deny"):
                    raise Denied(DENIED.format(name=source.name))
                if match is not None:  # *_link: this user, from now on by its Plex account
                    self._link(session, match, source_pk, identifier, plex_token, audit)
                    user_id = match
            if user_id is not None:
                action, flow_pk = "authenticate", source.authentication_flow_id
                missing = "Configured flow does not exist."
            else:
                action, flow_pk = "enroll", source.enrollment_flow_id
                missing = "Source is not configured for enrollment."
            flow = session.get(Flow, flow_pk) if flow_pk is not None else None
            if flow is None:
                raise Refused(missing)
            if user_id is not None and audit is not None:
                self._record_login_event(session, "login", source_pk, user_id, audit)
            pending = PendingLogin(
                source_pk=source_pk,
                identifier=identifier,
                # The account's own token is in there; it is not ours to keep.
                user_info={k: v for k, v in info.items() if k != "authToken"},
                action=action,
                user_id=user_id,
                flow_uuid=flow.flow_uuid,
                expires=now() + PENDING_LOGIN_LIFETIME,
            )
            session.add(pending)
            session.flush()
            return flow.slug, pending.id

    def pending_login(self, pending_id: uuid.UUID) -> dict | None:
        with self._read() as session:
            pending = session.get(PendingLogin, pending_id)
            if pending is None or pending.expires <= now():
                return None
            return {
                "source": str(pending.source_pk),
                "identifier": pending.identifier,
                "user_info": pending.user_info,
                "action": pending.action,
                "user": pending.user_id,
                "flow": str(pending.flow_uuid) if pending.flow_uuid else None,
            }

    def token_sources(self) -> list[LoginSource]:
        """Every source, for the Plex token health check."""
        with self._read() as session:
            query = select(PlexSource).order_by(PlexSource.slug)
            return [LoginSource.of(source) for source in session.scalars(query)]

    def record_event(self, action: str, message: str, source: LoginSource | None) -> None:
        """Record an event of the server's own (the Plex token check's) with its message
        and the source it is about; no caller, no request."""
        context = {"message": message}
        if source is not None:
            context["source"] = _source_dict(source)
        with self._writing() as connection:
            self.record(connection, action, context, app=LOGIN_EVENTS_APP)

    def _record_login_event(self, session, action: str, source_pk, user_id: int, audit) -> None:
        """`login` or `source_linked` for the user, about the source, in authentik's shape."""
        source = session.get(PlexSource, source_pk)
        user = session.get(User, user_id)
        who = {"pk": user.id, "username": user.username, "email": user.email}
        context = {"source": model_dict(*_SOURCE_MODEL, source.pbm_uuid, source.name)}
        if action == "source_linked":
            context = {"message": "Linked Source", **context}
        app = "authentik.events" if action == "login" else "authentik.core"
        self.record(session.connection(), action, context, audit=replace(audit, user=who), app=app)

    def cleanup_events(self) -> int:
        """Delete the events whose retention has passed; how many went."""
        with self._writing() as connection:
            expired = delete(Event).where(Event.expires.is_not(None), Event.expires <= now())
            return connection.execute(expired).rowcount

    def list_events(self, action: str | None = None) -> list[dict]:
        with self._read() as session:
            query = select(Event).order_by(Event.created, Event.id)
            if action is not None:
                query = query.where(Event.action == action)
            return [
                {
                    "created": event.created,
                    "action": event.action,
                    "message": str(event.context.get("message", "")),
                    "user": event.user.get("username", ""),
                    "context": event.context,
                }
                for event in session.scalars(query)
            ]
