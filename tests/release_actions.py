"""Helpers of the release tests: an app whose jobs run at once (Huey's immediate mode), the
analyst and publisher accounts, and actions that read like the workflow."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from survey import create_app
from survey.store.models import Release, Role, User

PASSWORD = "hailong-demo"  # noqa: S105 - the demo's published password, also given to test accounts
KIOSK = "sipas-kiosk"


def release_app(database_url: str, tmp_path: Path, **config: Any) -> Iterator[Flask]:
    """The test app (as conftest's ``app``) with ``config`` on top; jobs run immediately
    unless ``QUEUE_IMMEDIATE=False`` is given."""
    from tests.conftest import _empty

    app = create_app({
        "TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
        "QUEUE_IMMEDIATE": True, **config,
    })
    engine: Engine = app.extensions["hailong.engine"]
    _empty(engine)
    yield app
    engine.dispose()


def add_user(engine: Engine, username: str, role: Role) -> int:
    from survey.auth import hash_password

    with Session(engine) as session:
        user = User(username=username, full_name=username, password_hash=hash_password(PASSWORD), role=role)
        session.add(user)
        session.commit()
        return user.id


class Workflow:
    """What an analyst and a publisher do in the browser, through the test client."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str) -> None:
        self.client.post("/auth/logout")
        response = self.client.post("/auth/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)

    def prepare(self, period: str, unit: str = "96", *, questionnaires: tuple[str, ...] = (KIOSK,),
                changelog: str = "", **extra: str) -> Any:
        return self.client.post("/staff/releases/new", data={
            "period": period, "unit": unit, "questionnaires": list(questionnaires), "weighting": "none",
            "overall_rule": "", "methodology_version": "2026.1", "changelog": changelog, **extra})

    def publish(self, release_id: int) -> Any:
        return self.client.post(f"/staff/releases/{release_id}/publish")

    def withdraw(self, release_id: int, notice: str) -> Any:
        return self.client.post(f"/staff/releases/{release_id}/withdraw", data={"notice": notice})


def newest_release(engine: Engine) -> Release:
    with Session(engine, expire_on_commit=False) as session:
        release = session.scalars(select(Release).order_by(Release.id.desc())).first()
        assert release is not None
        session.refresh(release, ["snapshot"])
        return release


def add_rating(engine: Engine, unit_code: str, service_code: str, when: datetime, score: int) -> None:
    """One approved kiosk rating with every criterion at ``score``, stored as a channel would."""
    from survey.collect.responses import payload_hash
    from survey.store.catalogue import latest, publish
    from survey.store.models import Answer, Channel, Response, ReviewStatus, Service, Unit

    questionnaire = latest(KIOSK)
    with Session(engine) as session:
        version = publish(session, questionnaire).id
        unit = session.scalars(select(Unit).where(Unit.code == unit_code)).one()
        service = session.scalars(select(Service).where(Service.code == service_code)).one()
        values = {q.id: score for q in questionnaire.scored_questions()}
        rid = uuid.uuid4()
        session.execute(insert(Response), [{
            "id": rid, "questionnaire_id": KIOSK, "questionnaire_version_id": version, "unit_id": unit.id,
            "service_id": service.id, "desk_id": None, "channel": Channel.KIOSK, "started_at": when,
            "submitted_at": when, "received_at": when, "review_status": ReviewStatus.APPROVED, "weight": 1.0,
            "dossier_key": None, "payload_hash": payload_hash(questionnaire, unit.id, service.id, values)}])
        session.execute(insert(Answer), [{"response_id": rid, "question_id": k, "value_num": float(v),
                                          "value_text": None} for k, v in values.items()])
        session.commit()


COMMUNES = [("96001", "Phường An Xuyên", 0.9, 160), ("96002", "Xã Tắc Vân", 0.3, 140),
            ("96003", "Xã Lý Văn Lâm", -0.4, 150), ("96004", "Xã Hòa Thành", -1.0, 120),
            ("96005", "Xã Đất Mới", 0.0, 12)]  # code, name, how satisfied, ratings a year (the last: too few)
SERVICES = [("CHUNG-THUC", "Chứng thực, xác nhận", "Certification and attestation"),
            ("TTHC-XA", "Thủ tục hành chính cấp xã", "Commune-level procedures")]


def small_province(engine: Engine, *, seed: int = 11, years: tuple[int, ...] = (2025, 2026)) -> None:
    """A province of five communes and a department, the release roles, and synthetic approved
    kiosk ratings spread over ``years`` (whole years, in Vietnam office hours): communes differ
    in satisfaction, so that they rank apart; one commune has too few ratings to publish. Much
    faster than the demo, which the workflow tests do not need."""
    import numpy as np

    from survey.auth import hash_password
    from survey.collect.responses import payload_hash
    from survey.store.catalogue import latest, publish
    from survey.store.models import (
        Answer,
        Channel,
        Response,
        ReviewStatus,
        Service,
        Unit,
        UnitLevel,
    )

    rng = np.random.default_rng(seed)
    questionnaire = latest(KIOSK)
    criteria = [q.id for q in questionnaire.scored_questions()]
    with Session(engine) as session:
        version = publish(session, questionnaire).id
        services = [Service(code=c, name_vi=vi, name_en=en, category="administrative") for c, vi, en in SERVICES]
        province = Unit(code="96", name="Tỉnh Cà Mau", level=UnitLevel.PROVINCE)
        centre = Unit(code="96-TTPVHCC", name="Trung tâm Phục vụ hành chính công", level=UnitLevel.DEPARTMENT,
                      parent=province)
        communes = [Unit(code=c, name=n, level=UnitLevel.COMMUNE, parent=province) for c, n, _e, _k in COMMUNES]
        secret = hash_password(PASSWORD)
        users = [User(username=name, full_name=name, password_hash=secret, role=role) for name, role in (
            ("admin", Role.ADMIN), ("canbo", Role.STAFF), ("phantich", Role.ANALYST), ("phantich2", Role.ANALYST),
            ("congbo", Role.PUBLISHER), ("congbo2", Role.PUBLISHER))]
        session.add_all([*services, province, centre, *communes, *users])
        session.flush()
        responses: list[dict[str, Any]] = []
        answers: list[dict[str, Any]] = []
        places = [(centre, 0.4, 200)] + [(u, e, k) for u, (_c, _n, e, k) in zip(communes, COMMUNES, strict=True)]
        for year in years:
            start = datetime(year, 1, 1, 1, 0, tzinfo=UTC)
            for unit, effect, count in places:
                for _ in range(count):
                    service = services[int(rng.integers(len(services)))]
                    when = start + timedelta(days=int(rng.integers(0, 364)), hours=int(rng.integers(0, 9)))
                    values = {c: int(np.clip(np.rint(3.6 + effect + rng.normal(0, 0.9)), 1, 5)) for c in criteria
                              if rng.random() > 0.03}
                    rid = uuid.uuid4()
                    responses.append({
                        "id": rid, "questionnaire_id": KIOSK, "questionnaire_version_id": version, "unit_id": unit.id,
                        "service_id": service.id, "desk_id": None, "channel": Channel.KIOSK, "started_at": when,
                        "submitted_at": when, "received_at": when, "review_status": ReviewStatus.APPROVED,
                        "weight": 1.0, "dossier_key": None,
                        "payload_hash": payload_hash(questionnaire, unit.id, service.id, values)})
                    answers.extend({"response_id": rid, "question_id": k, "value_num": float(v), "value_text": None}
                                   for k, v in values.items())
        session.execute(insert(Response), responses)
        session.execute(insert(Answer), answers)
        session.commit()
