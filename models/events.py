"""Events: what happened, for administrators to read at /events/events/ (authentik's
audit log, docs/behaviour.md §11). The store records them in the transaction of the
change they describe."""

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import JSON, String, Text, Uuid, bindparam, insert
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, api_datetime, now

# authentik's event actions, in its order; the label is what /events/events/actions/
# names each by.
EVENT_ACTIONS = {
    "login": "Login",
    "login_failed": "Login Failed",
    "logout": "Logout",
    "user_write": "User Write",
    "user_offboarded": "User Offboarded",
    "suspicious_request": "Suspicious Request",
    "password_set": "Password Set",
    "secret_view": "Secret View",
    "secret_rotate": "Secret Rotate",
    "invitation_used": "Invite Used",
    "authorize_application": "Authorize Application",
    "source_linked": "Source Linked",
    "impersonation_started": "Impersonation Started",
    "impersonation_ended": "Impersonation Ended",
    "flow_execution": "Flow Execution",
    "policy_execution": "Policy Execution",
    "policy_exception": "Policy Exception",
    "property_mapping_exception": "Property Mapping Exception",
    "system_task_execution": "System Task Execution",
    "system_task_exception": "System Task Exception",
    "system_exception": "System Exception",
    "configuration_error": "Configuration Error",
    "configuration_warning": "Configuration Warning",
    "model_created": "Model Created",
    "model_updated": "Model Updated",
    "model_deleted": "Model Deleted",
    "email_sent": "Email Sent",
    "update_available": "Update Available",
    "export_ready": "Export Ready",
    "review_initiated": "Review Initiated",
    "review_overdue": "Review Overdue",
    "review_attested": "Review Attested",
    "review_completed": "Review Completed",
    "access_request_created": "Access Request Created",
    "access_request_approved": "Access Request Approved",
    "access_request_denied": "Access Request Denied",
    "access_request_revoked": "Access Request Revoked",
    "custom_": "Custom Prefix",
}

# The `app` of events about API writes, as authentik names the part that records them.
MODEL_EVENTS_APP = "authentik.events.middleware"
DEFAULT_RETENTION = timedelta(days=365)

# Values under keys that look like credentials are never stored (authentik's cleansing,
# after Django's list of sensitive setting names).
_SENSITIVE_KEY = re.compile("API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE", re.I)
CLEANSED = "********************"


class Event(Base):
    __tablename__ = "event"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    app: Mapped[str] = mapped_column(Text, default="")
    # Who acted: {pk, username, email}, or {} for the server itself.
    user: Mapped[dict] = mapped_column(JSON, default=dict)
    client_ip: Mapped[str | None] = mapped_column(Text, nullable=True)
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    brand: Mapped[dict] = mapped_column(JSON, default=dict)
    # Copies of `user.username` and `context.model`, which lists filter by: plain
    # indexed columns on both databases instead of JSON paths.
    username: Mapped[str | None] = mapped_column(Text, nullable=True, index=True)
    model_app: Mapped[str | None] = mapped_column(Text, nullable=True)
    model_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    model_pk: Mapped[str | None] = mapped_column(Text, nullable=True, index=True)


# A new event's row: every column a parameter, as event_row gives them all.
EVENT_INSERTED = insert(Event).values(
    {column.key: bindparam(column.key, type_=column.type) for column in Event.__table__.c}
)


@dataclass(frozen=True)
class Audit:
    """Who asked for a change, from where: what an event about it records. `user` is
    {pk, username, email}; `http_request` {args, path, method, user_agent}."""

    user: dict
    client_ip: str | None = None
    http_request: dict = field(default_factory=dict)


def cleansed(value):
    """`value` with every non-mapping value under a credential-like key replaced."""
    if isinstance(value, dict):
        return {
            str(key).replace("\x00", ""): (
                CLEANSED
                if _SENSITIVE_KEY.search(str(key)) and not isinstance(item, dict)
                else cleansed(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [cleansed(item) for item in value]
    if isinstance(value, str):  # PostgreSQL keeps no NUL in text
        return value.replace("\x00", "")
    return value


def model_dict(app: str, model_name: str, pk, name: str) -> dict:
    """authentik's description of an object in an event: UUIDs as 32 hex digits."""
    return {
        "app": app,
        "model_name": model_name,
        "pk": pk.hex if isinstance(pk, uuid.UUID) else pk,
        "name": name,
    }


def event_row(
    action: str,
    context: dict,
    *,
    retention: timedelta,
    audit: Audit | None = None,
    app: str = MODEL_EVENTS_APP,
) -> dict:
    """The columns of a new event (cleansed), expiring after `retention`."""
    context = cleansed(context)
    if audit is not None and audit.http_request:
        context["http_request"] = cleansed(audit.http_request)
    user = audit.user if audit is not None else {}
    model = context.get("model") or {}
    created = now()
    return {
        "id": uuid.uuid4(),
        "created": created,
        "expires": created + retention,
        "action": action,
        "app": app,
        "user": user,
        "client_ip": None if audit is None else audit.client_ip,
        "context": context,
        "brand": {},
        "username": user.get("username"),
        "model_app": model.get("app"),
        "model_name": model.get("model_name"),
        "model_pk": None if "pk" not in model else str(model["pk"]),
    }


def event_api(event) -> dict:
    """The Event representation, of an Event or a row of its table."""
    return {
        "pk": str(event.id),
        "user": event.user,
        "action": event.action,
        "app": event.app,
        "context": event.context,
        "client_ip": event.client_ip,
        "created": api_datetime(event.created),
        "expires": None if event.expires is None else api_datetime(event.expires),
        "brand": event.brand,
    }


def action_types() -> list[dict]:
    """/events/events/actions/: each action as authentik's TypeCreate."""
    return [
        {
            "name": label,
            "description": "",
            "component": action,
            "model_name": "",
            "requires_enterprise": False,
            "deprecated": False,
        }
        for action, label in EVENT_ACTIONS.items()
    ]
