"""``latest_published``: the newest published release showing a unit — the one the QR poster's
stable address (``/portal/u/<unit>``) opens. Two versions of a series published at the same
instant (a correction published in the same second, or clocks that tick coarsely) are told
apart by their version number, whatever order the database returns them in."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from survey.portal.snapshot import latest_published, published_snapshot
from survey.store.models import Release, ReleaseStatus, ReleaseUnit, Unit, UnitLevel

SAME_INSTANT = datetime(2026, 10, 5, 2, 30, tzinfo=UTC)


def _release(session: Session, scope: Unit, version: int, *, period: str = "2026-Q3", end: date = date(2026, 9, 30),
             published_at: datetime = SAME_INSTANT, status: ReleaseStatus = ReleaseStatus.PUBLISHED) -> Release:
    info = {"id": None, "series": f"96-{period}", "version": version, "status": status.value}
    # (a fresh hash each time: the snapshot cache is keyed by id and hash, and ids restart per test)
    release = Release(series=f"96-{period}", version=version, status=status, period_code=period, period_kind="quarter",
                      period_start=date(end.year, end.month - 2, 1), period_end=end, scope=scope, scope_code="96",
                      questionnaires=["sipas-kiosk"], methodology_version="2026.1", confidence_level=0.95,
                      min_publish_n=30, min_effective_n=20.0, changelog=f"phiên bản {version}",
                      snapshot={"release": info, "indices": []}, content_hash=uuid.uuid4().hex * 2,
                      published_at=published_at)
    session.add(release)
    session.flush()
    session.add(ReleaseUnit(release_id=release.id, unit_code="96"))
    session.flush()
    return release


@pytest.mark.parametrize("order", [(1, 2), (2, 1)], ids=["v1 inserted first", "v2 inserted first"])
def test_two_versions_published_at_the_same_instant_the_higher_version_wins(db: Session, order: tuple[int, int]) -> None:
    province = Unit(code="96", name="Tỉnh Cà Mau", level=UnitLevel.PROVINCE)
    db.add(province)
    # neither the order the rows come back in nor their ids may decide
    made = {version: _release(db, province, version) for version in order}
    db.commit()
    newest = latest_published(db, "96")
    assert newest is not None and newest["release"]["version"] == 2
    assert latest_published(db)["release"]["version"] == 2  # type: ignore[index]
    # the older version is still served at its own address, marked superseded by version 2
    older = published_snapshot(db, made[1].id)
    assert older is not None and older["release"]["superseded_by"] == 2


def test_a_later_period_and_a_later_publication_come_before_the_version(db: Session) -> None:
    province = Unit(code="96", name="Tỉnh Cà Mau", level=UnitLevel.PROVINCE)
    db.add(province)
    _release(db, province, 3)
    _release(db, province, 1, period="2026-Q4", end=date(2026, 12, 31), published_at=datetime(2026, 9, 1, tzinfo=UTC))
    db.commit()
    newest = latest_published(db, "96")
    assert newest is not None and newest["release"]["series"] == "96-2026-Q4"  # the later period, though older

    # within a period: the later publication, then the version
    _release(db, province, 1, period="2026-9M", end=date(2026, 12, 31), published_at=datetime(2026, 12, 1, tzinfo=UTC))
    db.commit()
    newest = latest_published(db, "96")
    assert newest is not None and newest["release"]["series"] == "96-2026-9M"
    assert latest_published(db, "unknown-unit") is None
