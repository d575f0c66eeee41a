"""A hand-made province for the hand-computed checks (tests/test_hardening_hand_checks.py): a few
communes whose ratings are chosen one by one, so that every figure of the staff tables can be
computed in the test with pencil-and-paper arithmetic."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

PASSWORD = "hailong-demo"  # noqa: S105 - the demo's published password, also given to test accounts
KIOSK = "sipas-kiosk"
# Names chosen so that a code-point sort and the Vietnamese order disagree: Đ after D (not after
# Z), Ư after U, Ô and Ơ after O, Ă and Â after A.
COMMUNES = [("96101", "Xã Ưng Hòa"), ("96102", "Xã Đất Mũi"), ("96103", "Xã Dương Hòa"), ("96104", "Xã U Minh"),
            ("96105", "Xã Ơn Đức"), ("96106", "Xã Ô Môn"), ("96107", "Xã Ăn Khê"), ("96108", "Xã An Minh"),
            ("96109", "Xã Zô Lai"), ("96110", "Xã Ân Thi")]


def hand_province(engine: Engine) -> dict[str, int]:
    """The province 96 with the communes above, the service CHUNG-THUC and the staff account
    ``canbo``; no ratings (add them with :func:`add_ratings`). Returns the unit ids by code."""
    from survey.auth import hash_password
    from survey.store.catalogue import latest, publish
    from survey.store.models import Role, Service, Unit, UnitLevel, User

    with Session(engine) as session:
        publish(session, latest(KIOSK))
        province = Unit(code="96", name="Tỉnh Cà Mau", level=UnitLevel.PROVINCE)
        service = Service(code="CHUNG-THUC", name_vi="Chứng thực, xác nhận", name_en="Certification",
                          category="administrative")
        communes = [Unit(code=c, name=n, level=UnitLevel.COMMUNE, parent=province, services=[service])
                    for c, n in COMMUNES]
        session.add_all([service, province, *communes,
                         User(username="canbo", full_name="Cán bộ", password_hash=hash_password(PASSWORD),
                              role=Role.STAFF),
                         User(username="phantich", full_name="Phân tích", password_hash=hash_password(PASSWORD),
                              role=Role.ANALYST),
                         User(username="congbo", full_name="Công bố", password_hash=hash_password(PASSWORD),
                              role=Role.PUBLISHER)])
        session.commit()
        return {u.code: u.id for u in [province, *communes]}


def add_ratings(engine: Engine, unit_code: str, when: datetime, scores: Iterable[int], *,
                step: timedelta = timedelta(minutes=1)) -> list[uuid.UUID]:
    """Approved kiosk ratings at ``unit_code``, the first at ``when`` and each next one ``step``
    later, one per score: every criterion of a rating gets that score. Returns their ids."""
    from survey.collect.responses import payload_hash
    from survey.store.catalogue import latest, publish
    from survey.store.models import Answer, Channel, Response, ReviewStatus, Service, Unit

    questionnaire = latest(KIOSK)
    ids: list[uuid.UUID] = []
    with Session(engine) as session:
        version = publish(session, questionnaire).id
        unit = session.scalars(select(Unit).where(Unit.code == unit_code)).one()
        service = session.scalars(select(Service).where(Service.code == "CHUNG-THUC")).one()
        responses: list[dict[str, Any]] = []
        answers: list[dict[str, Any]] = []
        for n, score in enumerate(scores):
            values = {q.id: score for q in questionnaire.scored_questions()}
            rid = uuid.uuid4()
            at = when + n * step
            ids.append(rid)
            responses.append({
                "id": rid, "questionnaire_id": KIOSK, "questionnaire_version_id": version, "unit_id": unit.id,
                "service_id": service.id, "desk_id": None, "channel": Channel.KIOSK, "started_at": at,
                "submitted_at": at, "received_at": at, "review_status": ReviewStatus.APPROVED, "weight": 1.0,
                "dossier_key": None, "payload_hash": payload_hash(questionnaire, unit.id, service.id, values)})
            answers.extend({"response_id": rid, "question_id": k, "value_num": float(v), "value_text": None}
                           for k, v in values.items())
        if responses:
            session.execute(insert(Response), responses)
            session.execute(insert(Answer), answers)
        session.commit()
    return ids


def satisfied(k: int, n: int) -> list[int]:
    """``n`` ratings of which exactly ``k`` are satisfied (5) and the rest are not (2)."""
    return [5] * k + [2] * (n - k)
