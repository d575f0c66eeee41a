"""Published releases for the portal tests: the hand-built snapshot of
``tests/fixtures/portal/snapshot.json`` stored as real ``release`` rows (published, then a
correction, or withdrawn), so that the pages go through the same accessors as in production."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.portal.snapshot import content_hash
from survey.store.models import (
    Desk,
    DeskService,
    Release,
    ReleaseStatus,
    ReleaseUnit,
    Service,
    Unit,
    UnitLevel,
)

SNAPSHOT = Path(__file__).parent / "fixtures" / "portal" / "snapshot.json"


def sample_snapshot() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return loaded


def ensure_units(session: Session) -> Unit:
    """The province, one commune with a desk offering the land service, and the two services."""
    province = session.scalar(select(Unit).where(Unit.code == "96"))
    if province is None:
        province = Unit(code="96", name="Cà Mau", level=UnitLevel.PROVINCE)
        commune = Unit(code="96001", name="Phường An Xuyên", level=UnitLevel.COMMUNE, parent=province)
        land = Service(code="land", name_vi="Cấp giấy chứng nhận quyền sử dụng đất",
                       name_en="Land-use right certificates", category="administrative")
        certification = Service(code="certification", name_vi="Chứng thực, xác nhận", name_en="Certification",
                                category="administrative")
        session.add_all([province, commune, land, certification])
        session.flush()
        desk = Desk(code="AX-1", name="Quầy Một cửa An Xuyên", unit=commune, questionnaire_id="sipas-kiosk")
        session.add(desk)
        session.flush()
        session.add(DeskService(desk_id=desk.id, service_id=land.id))
        session.flush()
    return province


def publish(session: Session, document: dict[str, Any], *, version: int = 1, changelog: str = "") -> Release:
    """Store ``document`` as version ``version`` of its series, published; returns the row."""
    province = ensure_units(session)
    document = copy.deepcopy(document)
    info = document["release"]
    release = Release(
        series=info["series"], version=version, status=ReleaseStatus.READY, period_code=info["period"]["code"],
        period_kind=info["period"]["kind"], period_start=date.fromisoformat(info["period"]["start"]),
        period_end=date.fromisoformat(info["period"]["end"]), scope_unit_id=province.id,
        scope_code=info["scope"]["code"], questionnaires=list(info["questionnaires"]),
        overall_rule=info["overall_rule"], methodology_version=info["methodology_version"],
        weighting=info["weighting"], confidence_level=info["confidence_level"],
        min_publish_n=info["min_publish_n"], min_effective_n=info["min_effective_n"], changelog=changelog)
    session.add(release)
    session.flush()
    info.update(id=release.id, version=version, status="published", withdrawn=None,
                changelog=[e for e in info["changelog"] if e["version"] <= version])
    release.snapshot = document
    release.content_hash = content_hash(document)
    release.status = ReleaseStatus.PUBLISHED
    release.published_at = datetime(2026, 10, 4 + version, 2, 0, tzinfo=UTC)  # a correction comes later
    session.add_all(ReleaseUnit(release_id=release.id, unit_code=u["code"]) for u in document["units"])
    session.commit()
    return release


def withdraw(session: Session, release: Release, notice: str) -> None:
    release.status = ReleaseStatus.WITHDRAWN
    release.withdrawal_notice = notice
    release.withdrawn_at = datetime(2026, 10, 20, 3, 30, tzinfo=UTC)
    session.commit()
