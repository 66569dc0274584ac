"""`/events/events/`: what happened, as the store recorded it (read only here)."""

from app.crud import ResourceOperations
from models.events import action_types

_events = ResourceOperations("events_events", key="event_uuid")

events_events_list = _events.list
events_events_retrieve = _events.retrieve


async def events_events_actions_list():
    return action_types(), 200
