"""Issue 9 point 3: a period before 1 July 2025 shown on today's map counts a split old commune in
each of its parts with weight × share, and each of its responses as ONE respondent (PSU) — on the
results page, in the ranking, on the PAPI page's units and in the microdata — on SQLite and
PostgreSQL.

A hand-built map: province T → old district D (to 30/6/2025) → old communes X and Y; today's
communes A and B under T (from 1/7/2025). X was split 60/40 between A and B, Y went whole into A.
Twenty ratings of 2024-Q1 (12 in X, 8 in Y, weights 1–2, every criterion of a rating the same
answer so that each element index, and the overall index, is the weighted share satisfied). The
index and its standard error are recomputed here with numpy from the ratings alone (Taylor
linearisation of a domain ratio, PSUs = responses with replacement: v = n/(n−1) Σ (z_i − z̄)², z_i
the sum over a response's copies), checked against R survey (svyby, ids = ~response:
tests/fixtures/split_shares/make_reference.R and its output) and to differ from what counting the
copies as separate respondents gives.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from survey.store.models import (
    Answer,
    Channel,
    Response,
    ReviewStatus,
    Role,
    Service,
    Unit,
    UnitCorrespondence,
    UnitKind,
    UnitLevel,
    User,
)

OLD_END, NEW_START = date(2025, 6, 30), date(2025, 7, 1)
FIXTURES = Path(__file__).parent / "fixtures" / "split_shares"  # the ratings and R survey's reference
SHARE_A = 0.6
PASSWORD = "mat-khau-thu-nghiem-9"


def _map(db: Session) -> dict[str, Unit]:
    t = Unit(code="T99", name="Tỉnh Thử", level=UnitLevel.PROVINCE, kind=UnitKind.TINH)
    db.add(t)
    db.flush()
    d = Unit(code="cu-D991", name="Huyện Cũ", level=UnitLevel.DISTRICT, kind=UnitKind.HUYEN, parent_id=t.id,
             valid_to=OLD_END)
    db.add(d)
    db.flush()
    units = {"T": t, "D": d}
    for key, name in (("X", "Xã Tách Đôi"), ("Y", "Xã Nhập Trọn")):
        units[key] = Unit(code=f"cu-{key}9901", name=name, level=UnitLevel.COMMUNE, kind=UnitKind.XA,
                          parent_id=d.id, valid_to=OLD_END)
    for key, name in (("A", "Xã Mới An"), ("B", "Xã Mới Bình")):
        units[key] = Unit(code=f"99{key}01", name=name, level=UnitLevel.COMMUNE, kind=UnitKind.XA, parent_id=t.id,
                          valid_from=NEW_START)
    db.add_all(units[k] for k in "XYAB")
    db.flush()
    db.add_all([
        UnitCorrespondence(old_unit_id=units["X"].id, new_unit_id=units["A"].id, share=SHARE_A, partly=True,
                           basis="population"),
        UnitCorrespondence(old_unit_id=units["X"].id, new_unit_id=units["B"].id, share=1 - SHARE_A, partly=True,
                           basis="population"),
        UnitCorrespondence(old_unit_id=units["Y"].id, new_unit_id=units["A"].id, share=None, partly=False),
    ])
    db.flush()
    return units


def _ratings(db: Session, units: dict[str, Unit]) -> dict[str, np.ndarray]:
    """Twenty ratings of 2024-Q1; returns the independent copy of what was stored."""
    from survey.collect.responses import payload_hash
    from survey.store.catalogue import latest, publish

    questionnaire = latest("sipas-kiosk")
    version = publish(db, questionnaire).id
    service = Service(code="dv-thu", name_vi="Dịch vụ thử", name_en="Test service", category="administrative")
    db.add(service)
    db.flush()
    criteria = [q.id for q in questionnaire.scored_questions()]
    rng = np.random.default_rng(9)
    where = np.array(["X"] * 12 + ["Y"] * 8)
    answer = rng.integers(1, 6, size=len(where))
    weight = rng.uniform(1.0, 2.0, size=len(where)).round(3)
    responses, answers = [], []
    for i, (key, value, w) in enumerate(zip(where, answer, weight, strict=True)):
        rid = uuid.uuid5(uuid.NAMESPACE_URL, f"h9-share/{i}")
        when = datetime(2024, 2, 1 + i, 3, 0, tzinfo=UTC)
        values = dict.fromkeys(criteria, int(value))
        responses.append({
            "id": rid, "questionnaire_id": questionnaire.id, "questionnaire_version_id": version,
            "unit_id": units[key].id, "service_id": service.id, "desk_id": None, "channel": Channel.KIOSK,
            "started_at": when, "submitted_at": when, "received_at": when, "review_status": ReviewStatus.APPROVED,
            "weight": float(w), "dossier_key": None,
            "payload_hash": payload_hash(questionnaire, units[key].id, service.id, values)})
        answers.extend({"response_id": rid, "question_id": q, "value_num": float(value), "value_text": None}
                       for q in criteria)
    db.execute(insert(Response), responses)
    db.execute(insert(Answer), answers)
    db.add(User(username="canbo9", password_hash=_hash(), role=Role.STAFF, view_unit_id=units["T"].id))
    db.commit()
    return {"where": where, "satisfied": (answer >= 4).astype(float), "weight": weight}


def _hash() -> str:
    from survey.auth import hash_password

    return hash_password(PASSWORD)


def _by_hand(data: dict[str, np.ndarray], part: str, *, clustered: bool = True) -> tuple[float, float]:
    """The index of today's commune ``part`` and its SE, from the ratings alone: each rating of X
    counts with w × share, Y's wholly in A; the domain ratio's linearised values summed per
    response (``clustered``) or, wrongly, each copy its own PSU."""
    in_x = data["where"] == "X"
    share = {"A": np.where(in_x, SHARE_A, 1.0), "B": np.where(in_x, 1 - SHARE_A, 0.0)}[part]
    w, y = data["weight"] * share, data["satisfied"]
    estimate = float((w * y).sum() / w.sum())
    z = w * (y - estimate) / w.sum()  # one value per response: its copy in ``part`` (0 when none)
    if not clustered:  # X's ratings are two rows each (one per part): the other copy adds a zero PSU
        z = np.concatenate([z, np.zeros(int(in_x.sum()))])
    n = len(z)
    return estimate, float(np.sqrt(n / (n - 1) * ((z - z.mean()) ** 2).sum()))


@pytest.fixture
def split_map(app) -> tuple[dict[str, Unit], dict[str, np.ndarray]]:  # type: ignore[no-untyped-def]
    from survey.store.db import get_session

    with app.app_context():
        db = get_session()
        units = _map(db)
        data = _ratings(db, units)
        return {k: u.code for k, u in units.items()}, data  # type: ignore[return-value]


def test_results_and_ranking_count_a_split_commune_by_its_share(app, db, split_map) -> None:  # type: ignore[no-untyped-def]
    from survey.reports.ranking import unit_ranking
    from survey.reports.sipas_tables import sipas_report
    from survey.store.catalogue import latest

    codes, data = split_map
    questionnaire = latest("sipas-kiosk")
    unit = {k: db.query(Unit).filter_by(code=c).one() for k, c in codes.items()}
    with app.test_request_context():
        ranking = unit_ranking(db, questionnaire, level=UnitLevel.COMMUNE, service=None, period="2024-Q1",
                               language="vi", min_n=1, parent=unit["T"])
        reports = {k: sipas_report(db, questionnaire, unit[k], None, language="vi", period="2024-Q1", min_n=1)
                   for k in "AB"}
    ranked = {r["code"]: r for r in ranking.table.rows}
    stored = list(csv.DictReader(io.StringIO((FIXTURES / "ratings.csv").read_text(encoding="utf-8"))))
    assert [r["where"] for r in stored] == list(data["where"])  # the R reference is of these ratings
    assert [float(r["weight"]) for r in stored] == pytest.approx(list(data["weight"]), abs=1e-12)
    assert [float(r["satisfied"]) for r in stored] == list(data["satisfied"])
    reference = {r["part"]: r for r in csv.DictReader(io.StringIO((FIXTURES / "reference.csv").read_text(
        encoding="utf-8")))}
    for part in "AB":
        estimate, se = _by_hand(data, part)
        _e, wrong_se = _by_hand(data, part, clustered=False)
        assert abs(wrong_se - se) > 1e-4  # the check can tell the two apart
        # R survey (svyby on ids = ~response), kept in tests/fixtures/split_shares/
        assert estimate == pytest.approx(float(reference[part]["estimate"]), rel=1e-12)
        assert se == pytest.approx(float(reference[part]["se"]), rel=1e-12)
        assert wrong_se == pytest.approx(float(reference[part]["se_separate"]), rel=1e-12)
        overall = next(r for r in reports[part].table.rows if r["_kind"] == "overall")
        assert overall["estimate"] == pytest.approx(estimate, abs=1e-12)
        assert overall["se"] == pytest.approx(se, rel=1e-9)
        row = ranked[codes[part]]
        assert row["estimate"] == pytest.approx(estimate, abs=1e-12)
        assert row["se"] == pytest.approx(se, rel=1e-9)
        assert reports[part].regrouped and reports[part].by_share
    # n: every rating of X counts once in each part, Y's only in A
    assert reports["A"].n_responses == 20 and reports["B"].n_responses == 12
    assert ranked[codes["A"]]["n"] == 20 and ranked[codes["B"]]["n"] == 12
    # the province counts each rating once, with its whole weight
    whole = float((data["weight"] * data["satisfied"]).sum() / data["weight"].sum())
    assert ranking.parent is not None and ranking.parent["n"] == 20
    assert ranking.parent["estimate"] == pytest.approx(whole, abs=1e-12)
    # rank intervals on a design that resamples whole ratings: within 1 … 2, holding the rank
    for part in "AB":
        row = ranked[codes[part]]
        assert 1 <= row["rank_low"] <= row["rank"] <= row["rank_high"] <= 2
    # on the map of the time: X and Y as collected, no share anywhere
    with app.test_request_context():
        then = unit_ranking(db, questionnaire, level=UnitLevel.COMMUNE, service=None, period="2024-Q1",
                            language="vi", min_n=1, parent=unit["T"], todays_map=False)
    old = {r["code"]: r["n"] for r in then.table.rows if r["code"] != codes["T"]}  # the province heads it
    assert old == {codes["X"]: 12, codes["Y"]: 8}


def test_the_page_and_the_microdata_say_they_are_re_aggregated(app, client, split_map) -> None:  # type: ignore[no-untyped-def]
    codes, data = split_map
    assert client.post("/auth/login", data={"username": "canbo9", "password": PASSWORD}).status_code == 302
    page = client.get(f"/staff/results?unit={codes['B']}&period=2024-Q1&questionnaire=sipas-kiosk")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="map-note"' in html and 'id="share-note"' in html
    ranking = client.get(f"/staff/ranking?level=commune&period=2024-Q1&unit={codes['T']}").get_data(as_text=True)
    assert 'id="share-note"' in ranking and "Tổng hợp lại theo đơn vị hiện nay" in ranking
    then = client.get("/staff/ranking?level=commune&period=2024-Q1&map=then").get_data(as_text=True)
    assert 'id="share-note"' not in then  # the map of the time: as published then
    today = client.get(f"/staff/results?unit={codes['X']}&period=2024-Q1&questionnaire=sipas-kiosk")
    assert 'id="share-note"' not in today.get_data(as_text=True)  # the old commune: as published then

    body = client.get(f"/staff/export.csv?unit={codes['T']}&questionnaire=sipas-kiosk&excel=0").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 12 * 2 + 8  # X's ratings once per part, Y's once
    by_part: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_part.setdefault(row["unit_today_code"], []).append(row)
    assert {r["response_id"] for r in by_part[codes["B"]]} <= {r["response_id"] for r in by_part[codes["A"]]}
    assert all(float(r["share"]) == pytest.approx(1 - SHARE_A) for r in by_part[codes["B"]])
    stored = dict(zip([str(uuid.uuid5(uuid.NAMESPACE_URL, f"h9-share/{i}")) for i in range(20)], data["weight"],
                      strict=True))
    for row in rows:  # the weight is the stored weight × the share
        assert float(row["weight"]) == pytest.approx(stored[row["response_id"]] * float(row["share"]))
    total = sum(float(r["weight"]) for r in rows)
    assert total == pytest.approx(float(data["weight"].sum()))  # nothing gained or lost


def test_the_unit_search_finds_historical_units_marked_for_an_old_period(app, client, split_map) -> None:  # type: ignore[no-untyped-def]
    codes, _data = split_map
    assert client.post("/auth/login", data={"username": "canbo9", "password": PASSWORD}).status_code == 302
    today = client.get("/staff/units/search?q=xa&levels=commune").get_json()
    assert {r["code"] for r in today["results"]} == {codes["A"], codes["B"]}  # today's map only
    assert not today["history"] and not any(r["historical"] for r in today["results"])
    for asked in ("period=2024-Q1", "period=2025", "history=1"):  # a period before the reform, or asked for
        found = client.get(f"/staff/units/search?q=xa&levels=commune&{asked}").get_json()
        assert found["history"] is True
        by_code = {r["code"]: r for r in found["results"]}
        assert set(by_code) == {codes[k] for k in "ABXY"}, asked
        assert [r["historical"] for r in found["results"]] == [False, False, True, True]  # today's units first
        old = by_code[codes["X"]]
        assert old["note"] == "trước 1/7/2025" and old["parent"] == "Huyện Cũ" and old["label"].endswith(
            f"({codes['X']})")  # the field still sends "Name (code)"
        assert by_code[codes["A"]]["note"] == ""
    later = client.get("/staff/units/search?q=xa&levels=commune&period=2026-Q1").get_json()
    assert not later["history"] and len(later["results"]) == 2
    district = client.get("/staff/units/search?q=huyen cu&history=1").get_json()
    assert [r["code"] for r in district["results"]] == [codes["D"]]  # the old district, whatever the tone marks
    page = client.get(f"/staff/results?unit={codes['A']}&period=2024-Q1&questionnaire=sipas-kiosk")
    assert page.status_code == 200  # (the searchable field appears past 300 units; the page renders either way)


def _papi_interviews(db: Session, units: dict[str, Unit]) -> None:
    """Six 2024 household interviews in each of three villages of X and two of Y (the PSUs,
    stratum: the old district), answers drawn as the demo draws them."""
    from survey.collect.responses import answer_values, payload_hash
    from survey.demo import _papi_answer
    from survey.store.catalogue import latest, publish

    questionnaire = latest("papi-household")
    version = publish(db, questionnaire).id
    service = db.query(Service).filter_by(code="dv-thu").one()
    villages = []
    for key, count in (("X", 3), ("Y", 2)):
        for k in range(1, count + 1):
            villages.append(Unit(code=f"{units[key].code}-A{k}", name=f"Ấp {key}{k}", level=UnitLevel.HAMLET,
                                 kind=UnitKind.AP, parent_id=units[key].id, valid_to=OLD_END))
    db.add_all(villages)
    db.flush()
    rng = np.random.default_rng(19)
    from questionnaires.expressions import evaluate

    responses, answers = [], []
    for village in villages:
        local = rng.normal(0.0, 0.5)
        for k in range(6):
            values: dict[str, object] = {}
            for q in questionnaire.active_questions():
                if q.relevant and not evaluate(q.relevant, values):
                    continue
                value = _papi_answer(q, rng, local + rng.normal(0.0, 0.6))
                if value is not None:
                    values[q.id] = value
            rid = uuid.uuid5(uuid.NAMESPACE_URL, f"h9-papi/{village.code}/{k}")
            when = datetime(2024, 5, 1 + k, 2, 0, tzinfo=UTC)
            responses.append({
                "id": rid, "questionnaire_id": questionnaire.id, "questionnaire_version_id": version,
                "unit_id": village.id, "service_id": service.id, "desk_id": None, "channel": Channel.ENUMERATOR,
                "started_at": when, "submitted_at": when, "received_at": when, "review_status": ReviewStatus.APPROVED,
                "weight": float(rng.uniform(1.0, 2.0)), "dossier_key": None, "stratum": "D991", "psu": village.code,
                "payload_hash": payload_hash(questionnaire, village.id, service.id, values)})
            answers.extend({"response_id": rid, **a} for a in answer_values(questionnaire, values))
    db.execute(insert(Response), responses)
    db.execute(insert(Answer), answers)
    db.commit()


def test_papi_and_its_release_count_a_split_commune_by_its_share(app, db, split_map) -> None:  # type: ignore[no-untyped-def]
    from flask_babel import force_locale

    from scoring.design import SurveyDesign
    from scoring.papi import score_papi
    from survey.periods import Period
    from survey.portal.snapshot_builder import ReleaseSpec, build_snapshot
    from survey.reports.frames import responses_frame
    from survey.reports.papi_tables import papi_report, papi_spec
    from survey.store.catalogue import latest

    codes, _data = split_map
    unit = {k: db.query(Unit).filter_by(code=c).one() for k, c in codes.items()}
    _papi_interviews(db, unit)
    questionnaire = latest("papi-household")
    with app.test_request_context(), force_locale("vi"):
        report = {k: papi_report(db, questionnaire, unit[k], year="2024", language="vi", min_n=1) for k in "TAB"}
        old_d = papi_report(db, questionnaire, unit["D"], year="2024", language="vi", min_n=1, todays_map=False,
                            compare_level=UnitLevel.COMMUNE)
        spec = ReleaseSpec(period=Period.parse("2024"), scope="T99", questionnaires=("papi-household",),
                           min_publish_n=1, min_effective_n=0)
        built = build_snapshot(db, spec, release={"id": 0})  # type: ignore[typeddict-item]

    def total(found):  # type: ignore[no-untyped-def]
        return next(r for r in found.table.rows if r["_kind"] == "total")

    # B holds 40% of X and nothing else: X's interviews, its villages, its score and interval as
    # on the map of the time (a ratio does not move when all its weights are scaled; the copies
    # stay in their village, so the design is the same)
    old_x = next(r for r in old_d.districts.rows if r["code"] == codes["X"])
    assert (report["B"].n_responses, report["B"].n_villages) == (18, 3) and report["B"].by_share
    assert total(report["B"])["estimate"] == pytest.approx(old_x["estimate"], rel=1e-12)
    assert total(report["B"])["ci_low"] == pytest.approx(old_x["ci_low"], rel=1e-9)
    assert total(report["B"])["ci_high"] == pytest.approx(old_x["ci_high"], rel=1e-9)
    # A: X's interviews at 60% of their weight and Y's whole, on the year's whole design
    assert (report["A"].n_responses, report["A"].n_villages) == (30, 5)
    frame = responses_frame(db, questionnaire)
    spec_papi = papi_spec(questionnaire)
    for indicator in (i for d in spec_papi.dimensions for s in d.sub_dimensions for i in s.indicators):
        frame[indicator.column] = frame[indicator.column].clip(indicator.low, indicator.high)
    in_x = frame["unit_id"].map(lambda uid: db.get(Unit, uid).parent_id == unit["X"].id)
    by_hand = frame.assign(d="A", psu=frame["design_psu"], stratum=frame["design_stratum"],
                           weight=np.where(in_x, SHARE_A, 1.0) * frame["weight"])
    other = frame[in_x].assign(d="other", psu=frame["design_psu"], stratum=frame["design_stratum"],
                               weight=(1 - SHARE_A) * frame.loc[in_x, "weight"])
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", lonely_psu="adjust")
    expected = score_papi(pd.concat([by_hand, other]), spec_papi, design=design, by=["d"]).to_frame()
    expected = expected[(expected["d"] == "A") & (expected["kind"] == "total")].iloc[0]
    assert total(report["A"])["estimate"] == pytest.approx(float(expected["estimate"]), rel=1e-12)
    assert total(report["A"])["se"] == pytest.approx(float(expected["se"]), rel=1e-9)
    # the province's compared communes: X in both parts (largest part only would leave B empty)
    compared = {r["code"]: r for r in report["T"].districts.rows}
    assert (compared[codes["A"]]["n"], compared[codes["B"]]["n"]) == (30, 18)
    assert (compared[codes["A"]]["n_psu"], compared[codes["B"]]["n_psu"]) == (5, 3)
    assert compared[codes["B"]]["estimate"] == pytest.approx(old_x["estimate"], rel=1e-12)
    assert report["T"].n_responses == 30 and not report["T"].by_share  # the province: every interview once
    # the release's PAPI part goes through the same path
    assert built["papi"] is not None
    released = {r["unit"]: r for r in built["papi"]["compared"]}
    assert (released[codes["A"]]["n"], released[codes["B"]]["n"]) == (30, 18)
    assert released[codes["B"]]["estimate"] == pytest.approx(old_x["estimate"], rel=1e-12)
