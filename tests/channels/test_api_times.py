"""Times in the submission API (issue 14 point 6): a timestamp must carry its UTC offset; one
without is refused with a clear 400 naming the field, never silently taken as UTC."""

from __future__ import annotations

import uuid
from datetime import timedelta, timezone

from survey.store.models import Response, utcnow
from tests.channels.conftest import submission


def test_a_time_without_its_offset_is_refused_with_400(device_api, db) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    naive = submission(submitted_at=now.replace(tzinfo=None).isoformat(timespec="seconds"))
    resp = device_api.submit(naive)
    assert resp.status_code == 400
    assert "+07:00" in resp.get_json()["error"]["fields"]["submitted_at"]
    en = device_api.submit(submission(started_at="2026-11-20T08:00:00"), lang="en")
    assert en.status_code == 400 and "offset from UTC" in en.get_json()["error"]["fields"]["started_at"]
    assert db.get(Response, uuid.UUID(naive["id"])) is None
    vietnam = submission(submitted_at=now.astimezone(timezone(timedelta(hours=7))).isoformat(timespec="seconds"))
    assert vietnam["submitted_at"].endswith("+07:00") and device_api.submit(vietnam).status_code == 201
    assert abs(db.get(Response, uuid.UUID(vietnam["id"])).submitted_at.replace(tzinfo=None)
               - now.replace(tzinfo=None, microsecond=0)) < timedelta(seconds=1)  # the same instant, in UTC
    batch = device_api.batch([submission(submitted_at="2026-11-20T08:00:00"), submission()])
    assert [r["status"] for r in batch.get_json()["results"]] == ["invalid", "created"]
