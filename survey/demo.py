"""Demo data: Cà Mau (code 96) on today's map — the province formed on 1 July 2025 from Cà Mau
and Bạc Liêu, its 64 communes and wards imported from the official list (``survey.admin.official``),
a few villages each, desks for provincial departments and for a dozen communes — and its history:
the two old provinces, their 16 districts and 164 communes (valid to 30 June 2025) with the
official old → new table. Synthetic kiosk ratings run from 2024 Q1 to the last complete quarter, on
working days in office hours (Vietnamese public holidays from the ``holidays`` package): before
the reform at the old district and provincial desks, after it at the new ones. PAPI-style household
interviews are drawn in 2024 and 2025 on the old districts (strata) and in 2026 on the new
communes (urban wards and rural communes as strata), with the stratum and village (PSU) of the
sample stored on every interview. The names are real places; the answers are not.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from questionnaires import Question
from survey.admin.official import import_official
from survey.auth import hash_password
from survey.collect.responses import answer_values, payload_hash
from survey.periods import VIETNAM
from survey.reports.papi_tables import PAPI_QUESTIONNAIRE
from survey.store import compact
from survey.store.catalogue import latest, publish, publish_library
from survey.store.db import session_scope
from survey.store.models import (
    Answer,
    Assignment,
    Channel,
    Desk,
    Response,
    ReviewStatus,
    Role,
    Service,
    Unit,
    UnitCorrespondence,
    UnitKind,
    UnitLevel,
    UnitService,
    User,
)
from survey.store.units import LAST_OLD_DAY, REFORM_DAY

DEMO_PASSWORD = "hailong-demo"  # noqa: S105 - the demo's published credentials, shown on the sign-in page
PROVINCE = "96"
MARKER_DESK = "96-TTPVHCC-01"  # the demo is loaded when this desk exists

SERVICES = [
    ("CHUNG-THUC", "Chứng thực, xác nhận", "Certification and attestation", "administrative"),
    ("GPXD", "Cấp giấy phép xây dựng", "Construction permits", "administrative"),
    ("GCN-QSDD", "Cấp Giấy chứng nhận quyền sử dụng đất", "Land-use right certificates", "administrative"),
    ("TTHC-XA", "Thủ tục hành chính cấp xã", "Commune-level procedures", "administrative"),
    ("DKKD", "Đăng ký kinh doanh", "Business registration", "administrative"),
    ("BV-HUYEN", "Khám, chữa bệnh tại bệnh viện huyện", "District hospital care", "public"),
    ("TIEU-HOC", "Giáo dục tiểu học công lập", "Public primary education", "public"),
]

# Today's provincial departments (code suffix, name, services, desks).
DEPARTMENTS = [
    ("TTPVHCC", "Trung tâm Phục vụ hành chính công tỉnh Cà Mau", ["CHUNG-THUC", "GPXD", "GCN-QSDD", "DKKD"], 2),
    ("SXD", "Sở Xây dựng tỉnh Cà Mau", ["GPXD"], 1),
    ("SNNMT", "Sở Nông nghiệp và Môi trường tỉnh Cà Mau", ["GCN-QSDD"], 1),
    ("STC", "Sở Tài chính tỉnh Cà Mau", ["DKKD"], 1),
]
PROVINCE_SERVICES = ["CHUNG-THUC", "GPXD", "GCN-QSDD", "DKKD"]
DISTRICT_SERVICES = ["CHUNG-THUC", "GPXD", "GCN-QSDD", "DKKD", "BV-HUYEN"]
COMMUNE_SERVICES = ["CHUNG-THUC", "TTHC-XA", "TIEU-HOC"]
OLD_COMMUNE_SERVICES = ["CHUNG-THUC", "TTHC-XA", "TIEU-HOC"]
# The dozen communes and wards with a one-stop desk (and a kiosk) in the demo.
DESK_COMMUNES = ["32002", "32014", "31825", "31942", "32065", "32047", "32095", "32128", "32152", "32191",
                 "31843", "31891"]
VILLAGES_PER_COMMUNE = 3
KIOSK_QUESTIONNAIRE = "sipas-kiosk"
FIRST_QUARTER = date(2024, 1, 1)


def load_demo(
    engine: Engine, *, secret: str, n_responses: int = 3000, seed: int = 2026, papi_per_village: int = 16,
    today: date | None = None,
) -> str:
    """Load the demo once; a second call changes nothing and says so."""
    with session_scope(engine) as session:
        if session.scalar(select(Desk).where(Desk.code == MARKER_DESK)) is not None:
            return "Demo data are already loaded."
        publish_library(session)
        services = {
            code: Service(code=code, name_vi=vi, name_en=en, category=cat) for code, vi, en, cat in SERVICES
        }
        session.add_all(services.values())
        session.flush()
        import_official(session, provinces=[int(PROVINCE)])
        units = {u.code: u for u in session.scalars(select(Unit))}
        province = units[PROVINCE]
        old_provinces = [units["cu-96"], units["cu-95"]]
        desks: list[Desk] = []
        offers: dict[Unit, list[str]] = {}  # the services each unit offers
        for suffix, name, offered, n_desks in DEPARTMENTS:
            department = Unit(code=f"{PROVINCE}-{suffix}", name=name, level=UnitLevel.DEPARTMENT,
                              kind=UnitKind.SO_BAN_NGANH, parent=province, valid_from=REFORM_DAY)
            offers[department] = offered
            session.add(department)
            for k in range(1, n_desks + 1):
                desks.append(Desk(code=f"{department.code}-{k:02d}", name=f"Quầy một cửa số {k}", unit=department,
                                  questionnaire_id=KIOSK_QUESTIONNAIRE))
                session.add(desks[-1])
        session.flush()
        for old_province in old_provinces:  # the provincial centres of before the merger
            centre = Unit(code=f"{old_province.code}-TTPVHCC",
                          name=f"Trung tâm Phục vụ hành chính công {old_province.name.replace('Tỉnh ', 'tỉnh ', 1)}",
                          level=UnitLevel.DEPARTMENT, kind=UnitKind.SO_BAN_NGANH, parent=old_province,
                          valid_to=LAST_OLD_DAY)
            offers[centre] = PROVINCE_SERVICES
            session.add(centre)
            desks.append(Desk(code=f"{centre.code}-01", name="Quầy một cửa số 1", unit=centre,
                              questionnaire_id=KIOSK_QUESTIONNAIRE))
            session.add(desks[-1])
            session.flush()
            session.add(UnitCorrespondence(old_unit_id=centre.id, new_unit_id=_code_id(session, f"{PROVINCE}-TTPVHCC")))
        communes = sorted((u for u in units.values() if u.level == UnitLevel.COMMUNE and u.valid_to is None
                           and u.parent_id == province.id), key=lambda u: u.code)
        for commune in communes:
            offers[commune] = COMMUNE_SERVICES
            urban = commune.kind == UnitKind.PHUONG
            for k in range(1, VILLAGES_PER_COMMUNE + 1):
                session.add(Unit(code=f"{commune.code}-A{k}", name=f"{'Khóm' if urban else 'Ấp'} {k}",
                                 level=UnitLevel.HAMLET, kind=UnitKind.KHU_PHO if urban else UnitKind.AP,
                                 parent=commune, valid_from=REFORM_DAY))
            if commune.code in DESK_COMMUNES:
                desks.append(Desk(code=f"{commune.code}-MC", name=f"Bộ phận Một cửa {commune.name}", unit=commune,
                                  questionnaire_id=KIOSK_QUESTIONNAIRE))
                session.add(desks[-1])
        districts = sorted((u for u in units.values() if u.level == UnitLevel.DISTRICT), key=lambda u: u.code)
        for district in districts:
            offers[district] = DISTRICT_SERVICES
            desks.append(Desk(code=f"{district.code}-MC", name=f"Bộ phận Một cửa {district.name}", unit=district,
                              questionnaire_id=KIOSK_QUESTIONNAIRE))
            session.add(desks[-1])
        session.flush()
        old_villages = _old_villages(session, districts, offers)
        session.flush()
        session.execute(insert(UnitService), [{"unit_id": unit.id, "service_id": services[c].id}
                                              for unit, codes in offers.items() for c in codes])
        password = hash_password(DEMO_PASSWORD)  # one hash for every demo account (Argon2 is slow on purpose)
        session.add_all([
            User(username="admin", full_name="Quản trị viên", password_hash=password,
                 role=Role.ADMIN),
            User(username="canbo", full_name="Cán bộ Sở Nội vụ", password_hash=password,
                 role=Role.STAFF, unit_id=province.id),
        ])
        releases_hash = password  # the two release roles: one prepares, another publishes
        session.add_all([
            User(username="phantich", full_name="Chuyên viên phân tích số liệu", password_hash=releases_hash,
                 role=Role.ANALYST, unit_id=province.id),
            User(username="congbo", full_name="Lãnh đạo duyệt công bố", password_hash=releases_hash,
                 role=Role.PUBLISHER, unit_id=province.id),
        ])
        session.flush()
        sample_2026 = _sample_2026(session, communes)
        _demo_fieldwork(session, sample_2026, password)
        _digest_secrets(session)
        today = today or datetime.now(VIETNAM).date()
        services_of = [[services[c] for c in offers[d.unit]] for d in desks]
        n, last_quarter = _synthetic_ratings(session, desks, services_of, n_responses, seed, today)
        interviews = _synthetic_papi(session, papi_per_village, seed, old_villages, sample_2026)
        n_villages = session.query(Unit).filter(Unit.level == UnitLevel.HAMLET, Unit.valid_to.is_(None)).count()
        from survey.reports.rollups import rebuild

        rebuild(session)  # the ratings went in through Core: build their rollups (issue 15)
    return (
        f"Demo loaded: Cà Mau ({PROVINCE}) on today's map — {len(communes)} communes and wards, {n_villages} "
        f"villages, {len(DEPARTMENTS)} departments, {len(desks)} desks; its history — 2 old provinces, "
        f"{len(districts)} districts, valid to {LAST_OLD_DAY.isoformat()}; {n} ratings from 2024-Q1 to "
        f"{last_quarter} (working days, office hours), {interviews} PAPI household interviews (2024 and 2025 on the "
        f"old districts, 2026 on the new communes). Sign in as 'canbo' or 'admin' with password '{DEMO_PASSWORD}'."
    )


def _code_id(session: Session, code: str) -> int:
    return session.execute(select(Unit.id).where(Unit.code == code)).scalar_one()


def _old_villages(session: Session, districts: list[Unit], offers: dict[Unit, list[str]]) -> list[Unit]:
    """Two villages in each of the first two communes of every old district (the PAPI sample of
    2024 and 2025), each with its village of today's map as correspondence."""
    children: dict[int, list[Unit]] = {}
    for unit in session.scalars(select(Unit).where(Unit.level == UnitLevel.COMMUNE, Unit.valid_to.is_not(None))):
        children.setdefault(unit.parent_id or 0, []).append(unit)
    targets: dict[int, int] = {}  # an old commune's first new commune (the official table's order)
    for old_id, new_id in session.execute(select(UnitCorrespondence.old_unit_id, UnitCorrespondence.new_unit_id)
                                          .order_by(UnitCorrespondence.old_unit_id, UnitCorrespondence.new_unit_id)):
        targets.setdefault(old_id, new_id)
    by_id = {u.id: u for u in session.scalars(select(Unit).where(Unit.level == UnitLevel.COMMUNE))}
    villages: list[Unit] = []
    for district in districts:
        for commune in sorted(children.get(district.id, []), key=lambda u: u.code)[:2]:
            offers[commune] = OLD_COMMUNE_SERVICES
            new = by_id.get(targets.get(commune.id, -1))
            for k in (1, 2):
                village = Unit(code=f"{commune.code}-A{k}", name=f"Ấp {k}", level=UnitLevel.HAMLET,
                               kind=UnitKind.AP, parent=commune, valid_to=LAST_OLD_DAY)
                session.add(village)
                villages.append(village)
                if new is not None:
                    session.flush()
                    session.add(UnitCorrespondence(old_unit_id=village.id,
                                                   new_unit_id=_code_id(session, f"{new.code}-A{k}")))
    session.flush()
    return villages


def _sample_2026(session: Session, communes: list[Unit]) -> list[Unit]:
    """The 2026 household sample: two villages in every fourth commune or ward of today's map."""
    chosen = {c.id for c in communes[::4]}
    villages = session.scalars(select(Unit).where(Unit.parent_id.in_(chosen), Unit.level == UnitLevel.HAMLET)
                               .order_by(Unit.code)).all()
    return [v for v in villages if v.code.endswith(("-A1", "-A2"))]


def _demo_fieldwork(session: Session, sample: list[Unit], password: str) -> None:
    """The enumerator 'dieutravien': the PAPI household questionnaire in two villages (khóm) of a
    ward of the 2026 sample (16 interviews each, PAPI's quota), and a SIPAS follow-up on the kiosk
    questionnaire in two villages (ấp) of a commune."""
    enumerator = User(username="dieutravien", full_name="Điều tra viên Nguyễn Văn A",
                      password_hash=password, role=Role.ENUMERATOR)
    session.add(enumerator)
    service = session.scalars(select(Service).where(Service.code == "TTHC-XA")).one()
    rural = [v for v in sample if v.kind == UnitKind.AP][:2]  # "Ấp 1", "Ấp 2" of a commune
    urban = [v for v in sample if v.kind == UnitKind.KHU_PHO][:2]  # "Khóm 1", "Khóm 2" of a ward
    for village in rural:
        session.add(Assignment(user=enumerator, unit=village, service=service, questionnaire_id=KIOSK_QUESTIONNAIRE,
                               quota=16, households=[f"Hộ {i:02d}" for i in range(1, 21)]))
    for village in urban:
        session.add(Assignment(user=enumerator, unit=village, service=service, questionnaire_id=PAPI_QUESTIONNAIRE,
                               quota=16, households=[f"Hộ {i:02d}" for i in range(1, 21)],
                               stratum=_stratum_2026(village), psu=village.code))
    session.flush()


def _digest_secrets(session: Session) -> None:
    """The demo accounts' sealed HTTP Digest secrets (``survey.collect.openrosa``), so ODK Collect
    signs in with Digest at once; only within an app (the secret key seals them)."""
    from flask import current_app, has_app_context

    from survey.collect.openrosa import seal_digest
    from survey.store.odk_media import DigestSecret

    if not has_app_context():
        return
    key = str(current_app.config["SECRET_KEY"]).encode()
    session.add_all([DigestSecret(user_id=user.id, sealed_ha1=seal_digest(user.username, DEMO_PASSWORD, key))
                     for user in session.scalars(select(User))])
    session.flush()


def _stratum_2026(village: Unit) -> str:
    return "urban" if village.kind == UnitKind.KHU_PHO else "rural"


def working_days(start: date, end: date) -> list[date]:
    """Monday to Friday from ``start`` to ``end``, without Vietnam's public holidays."""
    import holidays

    off = holidays.country_holidays("VN", years=range(start.year, end.year + 1))
    days, day = [], start
    while day <= end:
        if day.weekday() < 5 and day not in off:
            days.append(day)
        day += timedelta(days=1)
    return days


# Office hours of a one-stop desk, in minutes after midnight (Vietnam time): 7:30–11:30, 13:30–17:00.
OFFICE_MINUTES = np.r_[np.arange(7 * 60 + 30, 11 * 60 + 30), np.arange(13 * 60 + 30, 17 * 60)]


def last_complete_quarter_end(today: date) -> date:
    first_month = 3 * ((today.month - 1) // 3) + 1
    return date(today.year, first_month, 1) - timedelta(days=1)


def _synthetic_ratings(session: Session, desks: list[Desk], services_of: list[list[Service]], n_responses: int,
                       seed: int, today: date) -> tuple[int, str]:
    rng = np.random.default_rng(seed)
    questionnaire = latest(KIOSK_QUESTIONNAIRE)
    version_id = publish(session, questionnaire).id
    criteria = list(questionnaire.scored_questions())
    desk_effect = rng.normal(0.0, 0.45, size=len(desks))
    criterion_effect = rng.normal(0.0, 0.25, size=len(criteria))
    end = last_complete_quarter_end(today)
    days = working_days(FIRST_QUARTER, end)
    old = [i for i, d in enumerate(desks) if d.unit.valid_to is not None]
    new = [i for i, d in enumerate(desks) if d.unit.valid_to is None]
    responses: list[dict[str, object]] = []
    answers: list[dict[str, object]] = []
    for i in range(n_responses):
        day = days[int(rng.integers(len(days)))]
        pool = old if day < REFORM_DAY else new
        d = pool[int(rng.integers(len(pool)))]
        desk = desks[d]
        service = services_of[d][int(rng.integers(len(services_of[d])))]
        person = rng.normal(0.0, 0.6)
        trend = 0.1 * (day.year - 2024)  # service improves a little every year
        values: dict[str, int] = {}
        for j, q in enumerate(criteria):
            if rng.random() < 0.04:
                continue  # skipped or "not applicable"
            score = 4.1 + trend + desk_effect[d] + criterion_effect[j] + person + rng.normal(0.0, 0.7)
            values[q.id] = int(np.clip(np.rint(score), 1, 5))
        rid = uuid.uuid5(uuid.NAMESPACE_URL, f"hailong-demo/{seed}/{i}")
        minute = int(OFFICE_MINUTES[int(rng.integers(len(OFFICE_MINUTES)))])
        submitted = datetime.combine(day, time(minute // 60, minute % 60), VIETNAM).astimezone(UTC)
        responses.append({
            "id": rid, "questionnaire_id": questionnaire.id, "questionnaire_version_id": version_id,
            "unit_id": desk.unit_id, "service_id": service.id, "desk_id": desk.id, "channel": Channel.KIOSK,
            "started_at": submitted - timedelta(seconds=int(rng.integers(20, 90))), "submitted_at": submitted,
            "received_at": submitted, "review_status": ReviewStatus.APPROVED, "weight": 1.0, "dossier_key": None,
            "payload_hash": payload_hash(questionnaire, desk.unit_id, service.id, values),
        })
        answers.extend({"response_id": rid, "question_id": k, "value_num": float(v), "value_text": None}
                       for k, v in values.items())
    _insert(session, responses, answers)
    return len(responses), f"{end.year}-Q{(end.month - 1) // 3 + 1}"


def _insert(session: Session, responses: list[dict[str, Any]], answers: list[dict[str, Any]]) -> None:
    """INSERT the responses and their answers as the store path writes them: numbers packed into
    ``codes`` (survey.store.compact), the rest as rows."""
    of_response: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for answer in answers:
        of_response.setdefault(answer["response_id"], []).append(answer)
    rows: list[Any] = []
    for response in responses:
        slot_ids = compact.slots(session, response["questionnaire_version_id"])
        response["codes"], kept = compact.pack(slot_ids, of_response.get(response["id"], []))
        rows.extend(kept)
    for chunk in range(0, len(responses), 1000):
        session.execute(insert(Response), responses[chunk:chunk + 1000])
    for chunk in range(0, len(rows), 5000):
        session.execute(insert(Answer), rows[chunk:chunk + 5000])


def _synthetic_papi(session: Session, per_village: int, seed: int, old_villages: list[Unit],
                    sample_2026: list[Unit]) -> int:
    """PAPI-style household interviews: ``per_village`` in every sampled village (PAPI interviews
    16 per village) — in April to June 2024 and 2025 in the old villages (strata: the old
    districts), in June to August 2026 in today's (strata: urban wards and rural communes) — made
    by the demo enumerator. Villages differ (a village effect, so the sample is clustered as a real
    one) and skip logic is respected: a question is answered only when its condition holds for the
    answers before it."""
    from questionnaires.expressions import evaluate

    if per_village <= 0:
        return 0
    rng = np.random.default_rng(seed + 1)
    questionnaire = latest(PAPI_QUESTIONNAIRE)
    version_id = publish(session, questionnaire).id
    enumerator = session.scalars(select(User).where(User.username == "dieutravien")).one()
    service = session.scalars(select(Service).where(Service.code == "TTHC-XA")).one()
    parents = {u.id: u for u in session.scalars(select(Unit).where(Unit.level.in_([UnitLevel.COMMUNE,
                                                                                   UnitLevel.DISTRICT])))}
    questions = questionnaire.active_questions()
    effect = {q.id: rng.normal(0.0, 0.5) for q in questions}
    responses: list[dict[str, object]] = []
    answers: list[dict[str, object]] = []
    waves = [(2024, 0.0, 4, old_villages), (2025, 0.1, 4, old_villages), (2026, 0.2, 6, sample_2026)]
    for year, shift, month, villages in waves:
        for village in villages:
            local = rng.normal(shift, 0.45)
            if year < 2026:
                commune = parents[village.parent_id or 0]
                stratum = parents[commune.parent_id or 0].official_code or ""
            else:
                stratum = _stratum_2026(village)
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
                day = datetime(year, month, 1, 8, 0, tzinfo=VIETNAM) + timedelta(days=int(rng.integers(0, 88)),
                                                                               minutes=int(rng.integers(0, 600)))
                submitted = day.astimezone(UTC)
                responses.append({
                    "id": rid, "questionnaire_id": questionnaire.id, "questionnaire_version_id": version_id,
                    "unit_id": village.id, "service_id": service.id, "desk_id": None, "channel": Channel.ENUMERATOR,
                    "started_at": submitted - timedelta(minutes=int(rng.integers(25, 50))), "submitted_at": submitted,
                    "received_at": submitted, "review_status": ReviewStatus.APPROVED, "weight": 1.0,
                    "dossier_key": None, "user_id": enumerator.id, "stratum": stratum, "psu": village.code,
                    "payload_hash": payload_hash(questionnaire, village.id, service.id, values),
                })
                answers.extend({"response_id": rid, **a} for a in answer_values(questionnaire, values))
    _insert(session, responses, answers)
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
