"""Demo data: a province with districts, communes, hamlets, desks, services, users and a few
thousand deterministic synthetic kiosk ratings. The names are real places; the ratings are not.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from survey.auth import hash_password
from survey.catalogue import latest, publish, publish_library
from survey.db import session_scope
from survey.models import (
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
from survey.responses import payload_hash

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


def load_demo(engine: Engine, *, secret: str, n_responses: int = 3000, seed: int = 2026) -> str:
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
        session.flush()
        _demo_fieldwork(session)
        n = _synthetic_ratings(session, desks, n_responses, seed)
    return (
        f"Demo loaded: 1 province, {len(DISTRICTS)} districts, {sum(map(len, DISTRICTS.values()))} communes, "
        f"{len(desks)} desks, {n} ratings. Sign in as 'canbo' or 'admin' with password '{DEMO_PASSWORD}'."
    )


def _demo_fieldwork(session: Session) -> None:
    """An enumerator ('dieutravien') with two villages of 16 interviews each (PAPI's quota)."""
    from survey.models import Assignment

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
