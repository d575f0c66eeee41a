"""Demo data: a province with districts, communes, hamlets, desks, services, users and a few
thousand deterministic synthetic kiosk ratings. The names are real places; the ratings are not.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from questionnaires import Question
from survey.auth import hash_password
from survey.collect.responses import answer_values, payload_hash
from survey.reports.papi_tables import PAPI_QUESTIONNAIRE
from survey.store.catalogue import latest, publish, publish_library
from survey.store.db import session_scope
from survey.store.models import (
    Answer,
    Channel,
    Desk,
    Response,
    ReviewStatus,
    Role,
    Service,
    Unit,
    UnitLevel,
    User,
)

DEMO_PASSWORD = "hailong-demo"  # noqa: S105 - the demo's published credentials, shown on the sign-in page

SERVICES = [
    ("CHUNG-THUC", "Chứng thực, xác nhận", "Certification and attestation", "administrative"),
    ("GPXD", "Cấp giấy phép xây dựng", "Construction permits", "administrative"),
    ("GCN-QSDD", "Cấp Giấy chứng nhận quyền sử dụng đất", "Land-use right certificates", "administrative"),
    ("TTHC-XA", "Thủ tục hành chính cấp xã", "Commune-level procedures", "administrative"),
    ("DKKD", "Đăng ký kinh doanh", "Business registration", "administrative"),
    ("BV-HUYEN", "Khám, chữa bệnh tại bệnh viện huyện", "District hospital care", "public"),
    ("TIEU-HOC", "Giáo dục tiểu học công lập", "Public primary education", "public"),
]

DISTRICTS = {
    "Thành phố Cà Mau": ["Phường 1", "Phường 5", "Xã Tắc Vân"],
    "Huyện Thới Bình": ["Thị trấn Thới Bình", "Xã Biển Bạch", "Xã Trí Phải"],
    "Huyện U Minh": ["Thị trấn U Minh", "Xã Khánh Lâm", "Xã Nguyễn Phích"],
    "Huyện Trần Văn Thời": ["Thị trấn Sông Đốc", "Xã Khánh Bình", "Xã Phong Lạc"],
}

PROVINCE_SERVICES = ["CHUNG-THUC", "GPXD", "GCN-QSDD", "DKKD"]
DISTRICT_SERVICES = ["CHUNG-THUC", "GPXD", "GCN-QSDD", "DKKD", "BV-HUYEN"]
COMMUNE_SERVICES = ["CHUNG-THUC", "TTHC-XA", "TIEU-HOC"]
KIOSK_QUESTIONNAIRE = "sipas-kiosk"


def load_demo(
    engine: Engine, *, secret: str, n_responses: int = 3000, seed: int = 2026, papi_per_village: int = 16,
) -> str:
    """Load the demo once; a second call changes nothing and says so."""
    with session_scope(engine) as session:
        if session.scalar(select(Unit).where(Unit.code == "96")) is not None:
            return "Demo data are already loaded."
        publish_library(session)
        services = {
            code: Service(code=code, name_vi=vi, name_en=en, category=cat) for code, vi, en, cat in SERVICES
        }
        session.add_all(services.values())
        province = Unit(code="96", name="Tỉnh Cà Mau", level=UnitLevel.PROVINCE)
        centre = Unit(code="96-TTPVHCC", name="Trung tâm Phục vụ hành chính công tỉnh Cà Mau",
                      level=UnitLevel.DEPARTMENT, parent=province)
        centre.services = [services[c] for c in PROVINCE_SERVICES]
        desks = [Desk(code="96-TTPVHCC-01", name="Quầy một cửa số 1", unit=centre, questionnaire_id=KIOSK_QUESTIONNAIRE)]
        session.add_all([province, centre])
        for d_index, (district_name, communes) in enumerate(DISTRICTS.items(), start=1):
            district = Unit(code=f"96-{d_index:02d}", name=district_name, level=UnitLevel.DISTRICT, parent=province)
            district.services = [services[c] for c in DISTRICT_SERVICES]
            desks.append(Desk(code=f"96-{d_index:02d}-MC", name=f"Bộ phận Một cửa {district_name}", unit=district,
                              questionnaire_id=KIOSK_QUESTIONNAIRE))
            for c_index, commune_name in enumerate(communes, start=1):
                commune = Unit(code=f"96-{d_index:02d}-{c_index:02d}", name=commune_name, level=UnitLevel.COMMUNE,
                               parent=district)
                commune.services = [services[c] for c in COMMUNE_SERVICES]
                desks.append(Desk(code=f"96-{d_index:02d}-{c_index:02d}-MC", name=f"Bộ phận Một cửa {commune_name}",
                                  unit=commune, questionnaire_id=KIOSK_QUESTIONNAIRE))
                for h in (1, 2):
                    session.add(Unit(code=f"96-{d_index:02d}-{c_index:02d}-A{h}", name=f"Ấp {h}",
                                     level=UnitLevel.HAMLET, parent=commune))
        session.add_all(desks)
        session.add_all([
            User(username="admin", full_name="Quản trị viên", password_hash=hash_password(DEMO_PASSWORD), role=Role.ADMIN),
            User(username="canbo", full_name="Cán bộ Sở Nội vụ", password_hash=hash_password(DEMO_PASSWORD), role=Role.STAFF),
        ])
        releases_hash = hash_password(DEMO_PASSWORD)  # the two release roles: one prepares, another publishes
        session.add_all([
            User(username="phantich", full_name="Chuyên viên phân tích số liệu", password_hash=releases_hash,
                 role=Role.ANALYST, unit_id=province.id),
            User(username="congbo", full_name="Lãnh đạo duyệt công bố", password_hash=releases_hash,
                 role=Role.PUBLISHER, unit_id=province.id),
        ])
        session.flush()
        _demo_fieldwork(session)
        n = _synthetic_ratings(session, desks, n_responses, seed)
        interviews = _synthetic_papi(session, papi_per_village, seed)
    return (
        f"Demo loaded: 1 province, {len(DISTRICTS)} districts, {sum(map(len, DISTRICTS.values()))} communes, "
        f"{len(desks)} desks, {n} ratings, {interviews} PAPI household interviews (2025 and 2026). "
        f"Sign in as 'canbo' or 'admin' with password '{DEMO_PASSWORD}'."
    )


def _demo_fieldwork(session: Session) -> None:
    """An enumerator ('dieutravien') with two villages of 16 interviews each (PAPI's quota)."""
    from survey.store.models import Assignment

    enumerator = User(username="dieutravien", full_name="Điều tra viên Nguyễn Văn A",
                      password_hash=hash_password(DEMO_PASSWORD), role=Role.ENUMERATOR)
    session.add(enumerator)
    service = session.scalar(select(Service).where(Service.code == "TTHC-XA"))
    for code in ("96-01-03-A1", "96-01-03-A2"):
        village = session.scalar(select(Unit).where(Unit.code == code))
        session.add(Assignment(user=enumerator, unit=village, service=service, questionnaire_id=KIOSK_QUESTIONNAIRE,
                               quota=16, households=[f"Hộ {i:02d}" for i in range(1, 21)]))
    session.flush()


def _synthetic_ratings(session: Session, desks: list[Desk], n_responses: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    questionnaire = latest(KIOSK_QUESTIONNAIRE)
    version_id = publish(session, questionnaire).id
    criteria = list(questionnaire.scored_questions())
    desk_effect = rng.normal(0.0, 0.45, size=len(desks))
    criterion_effect = rng.normal(0.0, 0.25, size=len(criteria))
    start = datetime(2026, 1, 5, 7, 30, tzinfo=UTC)
    responses: list[dict[str, object]] = []
    answers: list[dict[str, object]] = []
    for i in range(n_responses):
        d = int(rng.integers(len(desks)))
        desk = desks[d]
        services = desk.unit.services
        service = services[int(rng.integers(len(services)))]
        person = rng.normal(0.0, 0.6)
        values: dict[str, int] = {}
        for j, q in enumerate(criteria):
            if rng.random() < 0.04:
                continue  # skipped or "not applicable"
            score = 3.7 + desk_effect[d] + criterion_effect[j] + person + rng.normal(0.0, 0.7)
            values[q.id] = int(np.clip(np.rint(score), 1, 5))
        rid = uuid.uuid5(uuid.NAMESPACE_URL, f"hailong-demo/{seed}/{i}")
        submitted = start + timedelta(minutes=int(rng.integers(0, 60 * 24 * 320)))
        responses.append({
            "id": rid, "questionnaire_id": questionnaire.id, "questionnaire_version_id": version_id,
            "unit_id": desk.unit_id, "service_id": service.id, "desk_id": desk.id, "channel": Channel.KIOSK,
            "started_at": submitted - timedelta(seconds=int(rng.integers(20, 90))), "submitted_at": submitted,
            "received_at": submitted, "review_status": ReviewStatus.APPROVED, "weight": 1.0, "dossier_key": None,
            "payload_hash": payload_hash(questionnaire, desk.unit_id, service.id, values),
        })
        answers.extend({"response_id": rid, "question_id": k, "value_num": float(v), "value_text": None}
                       for k, v in values.items())
    for chunk in range(0, len(responses), 1000):
        session.execute(insert(Response), responses[chunk:chunk + 1000])
    for chunk in range(0, len(answers), 5000):
        session.execute(insert(Answer), answers[chunk:chunk + 5000])
    return len(responses)



def _synthetic_papi(session: Session, per_village: int, seed: int) -> int:
    """PAPI-style household interviews: ``per_village`` in every hamlet (PAPI interviews 16 per
    village), made by the demo enumerator between June and August 2025 and 2026. Villages differ
    (a village effect, so the sample is clustered as a real one) and skip logic is respected:
    a question is answered only when its condition holds for the answers before it."""
    from questionnaires.expressions import evaluate

    if per_village <= 0:
        return 0
    rng = np.random.default_rng(seed + 1)
    questionnaire = latest(PAPI_QUESTIONNAIRE)
    version_id = publish(session, questionnaire).id
    enumerator = session.scalars(select(User).where(User.username == "dieutravien")).one()
    service = session.scalars(select(Service).where(Service.code == "TTHC-XA")).one()
    villages = session.scalars(select(Unit).where(Unit.level == UnitLevel.HAMLET).order_by(Unit.code)).all()
    questions = questionnaire.active_questions()
    effect = {q.id: rng.normal(0.0, 0.5) for q in questions}
    responses: list[dict[str, object]] = []
    answers: list[dict[str, object]] = []
    for year, shift in ((2025, 0.0), (2026, 0.15)):
        for village in villages:
            local = rng.normal(shift, 0.45)
            for k in range(per_village):
                person = rng.normal(0.0, 0.6)
                values: dict[str, object] = {}
                for q in questions:
                    if q.relevant and not evaluate(q.relevant, values):
                        continue
                    value = _papi_answer(q, rng, local + person + effect[q.id])
                    if value is not None:
                        values[q.id] = value
                rid = uuid.uuid5(uuid.NAMESPACE_URL, f"hailong-demo-papi/{seed}/{year}/{village.code}/{k}")
                submitted = datetime(year, 6, 1, 1, 30, tzinfo=UTC) + timedelta(minutes=int(rng.integers(0, 60 * 24 * 90)))
                responses.append({
                    "id": rid, "questionnaire_id": questionnaire.id, "questionnaire_version_id": version_id,
                    "unit_id": village.id, "service_id": service.id, "desk_id": None, "channel": Channel.ENUMERATOR,
                    "started_at": submitted - timedelta(minutes=int(rng.integers(25, 50))), "submitted_at": submitted,
                    "received_at": submitted, "review_status": ReviewStatus.APPROVED, "weight": 1.0,
                    "dossier_key": None, "user_id": enumerator.id,
                    "payload_hash": payload_hash(questionnaire, village.id, service.id, values),
                })
                answers.extend({"response_id": rid, **a} for a in answer_values(questionnaire, values))
    for chunk in range(0, len(responses), 1000):
        session.execute(insert(Response), responses[chunk:chunk + 1000])
    for chunk in range(0, len(answers), 5000):
        session.execute(insert(Answer), answers[chunk:chunk + 5000])
    return len(responses)


def _papi_answer(question: Question, rng: np.random.Generator, latent: float) -> object:
    """A plausible answer to ``question`` for a respondent whose opinion leans ``latent``."""
    kind = question.type
    if kind == "consent":
        return True
    if kind == "yesno":
        return int(rng.random() < 1.0 / (1.0 + np.exp(-(0.2 + latent))))
    if kind in ("rating", "scale5"):
        scored = [int(c.value) for c in question.choices if c.scored]
        unscored = [c.value for c in question.choices if not c.scored]
        if unscored and rng.random() < 0.05:
            return unscored[0]  # "don't know": stored, never scored
        low, high = min(scored), max(scored)
        return int(np.clip(np.rint((low + high) / 2 + latent + rng.normal(0.0, 0.7)), low, high))
    if kind == "integer" and question.bounds is not None:  # minutes to school: fewer is better
        return int(np.clip(rng.gamma(2.0, 12.0) - 4 * latent, 1, question.bounds[1]))
    if kind == "integer":
        return int(rng.integers(18, 80))  # age
    if kind == "single" and question.choices:
        return question.choices[int(rng.integers(len(question.choices)))].value
    return None
