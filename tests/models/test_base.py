"""models/base.py: datetimes come back aware and in UTC on both databases."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from models.base import UTCDateTime
from models.events import Event


def test_a_datetime_round_trips_as_utc(store):
    moment = datetime(2026, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=-5)))
    store.record_event("x", "m", None)
    with store.engine.begin() as connection:
        connection.execute(Event.__table__.update().values(created=moment))
        stored = connection.execute(select(Event.created)).scalar_one()
    stored = UTCDateTime().process_result_value(stored, None) if stored.tzinfo is None else stored
    assert stored == moment
    assert stored.utcoffset() == timedelta(0)
