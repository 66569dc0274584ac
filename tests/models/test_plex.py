"""models/plex.py: a user's connection on the wire, datetimes as authentik writes them."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

from models.plex import SOURCE_FIELDS, UserPlexSourceConnection, api_datetime, connection_api
from models.sources import PlexSource, source_api


def test_datetimes_are_utc_with_a_z():
    moment = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=timezone(timedelta(hours=2)))
    assert api_datetime(moment) == "2026-01-02T01:04:05.006000Z"


def test_a_connection_carries_its_sources_generic_fields():
    source = PlexSource(pbm_uuid=uuid.uuid4(), name="Plex", slug="plex", plex_token="t",
                        client_id="c", icon="", allowed_servers=[])  # fmt: skip
    now = datetime.now(UTC)
    connection = UserPlexSourceConnection(
        id=3, user_id=9, source_pk=source.pbm_uuid, source=source, identifier="77",
        plex_token="secret", created=now, last_updated=now,
    )  # fmt: skip
    api = connection_api(connection, source_api(source, [], []))
    assert (api["pk"], api["user"], api["source"]) == (3, 9, str(source.pbm_uuid))
    assert len(api["source_obj"]) == SOURCE_FIELDS
    assert "plex_token" not in api and "plex_token" not in api["source_obj"]
