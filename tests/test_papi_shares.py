"""PAPI yes/no indicators shown as shares with the logit interval (issue 13 point 8, PAPI pages),
checked against R's ``svyciprop(method="logit")`` on a stratified cluster sample, on SQLite and
PostgreSQL.

The interviews are tests/fixtures/papi_shares/interviews.csv (made by make_data.py there); the
reference numbers are reference.csv, written by ``Rscript tests/fixtures/papi_shares/
make_reference.R`` (R survey 4.1-1: ``svydesign(ids=~psu, strata=~stratum, weights=~weight,
nest=TRUE)``, lonely PSUs "adjust", each share a domain — ``subset`` — of the whole design).
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale
from scipy import stats
from sqlalchemy import insert
from sqlalchemy.orm import Session

from survey.reports.papi_tables import PAPI_QUESTIONNAIRE, papi_report
from survey.store.catalogue import latest, publish
from survey.store.models import Answer, Channel, Response, ReviewStatus, Service, Unit, UnitLevel

HERE = Path(__file__).parent / "fixtures" / "papi_shares"


def _rows(name: str) -> list[dict[str, str]]:
    with (HERE / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def interviews(app: Flask, db: Session) -> Unit:
    from survey.collect.responses import payload_hash

    questionnaire = latest(PAPI_QUESTIONNAIRE)
    version = publish(db, questionnaire).id
    province = Unit(code="96", name="Tỉnh Cà Mau", level=UnitLevel.PROVINCE)
    communes = {"urban": Unit(code="96001", name="Phường An Xuyên", level=UnitLevel.COMMUNE, parent=province),
                "rural": Unit(code="96002", name="Xã Tắc Vân", level=UnitLevel.COMMUNE, parent=province)}
    service = Service(code="PAPI", name_vi="Khảo sát hộ gia đình", name_en="Household survey", category="public")
    db.add_all([province, *communes.values(), service])
    data = _rows("interviews.csv")
    villages = {}
    for row in data:
        if row["psu"] not in villages:
            villages[row["psu"]] = Unit(code=f"96-{row['psu']}", name=f"Ấp {row['psu']}", level=UnitLevel.HAMLET,
                                        parent=communes[row["stratum"]])
    db.add_all(villages.values())
    db.flush()
    when = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
    responses, answers = [], []
    for row in data:
        rid = uuid.uuid4()
        values = {k: int(row[k]) for k in ("p_knows_term", "p_meeting", "t_budget_posted") if row[k] != ""}
        unit = villages[row["psu"]]
        responses.append({
            "id": rid, "questionnaire_id": PAPI_QUESTIONNAIRE, "questionnaire_version_id": version, "unit_id": unit.id,
            "service_id": service.id, "desk_id": None, "channel": Channel.ENUMERATOR, "started_at": when,
            "submitted_at": when, "received_at": when, "review_status": ReviewStatus.APPROVED,
            "weight": float(row["weight"]), "dossier_key": None, "stratum": row["stratum"], "psu": row["psu"],
            "payload_hash": payload_hash(questionnaire, unit.id, service.id, values)})
        answers.extend({"response_id": rid, "question_id": k, "value_num": float(v), "value_text": None}
                       for k, v in values.items())
    db.execute(insert(Response), responses)
    db.execute(insert(Answer), answers)
    db.commit()
    return province


def test_yes_no_shares_have_the_logit_interval_of_r_svyciprop(app: Flask, db: Session, interviews: Unit) -> None:
    with app.test_request_context(), force_locale("vi"):
        report = papi_report(db, latest(PAPI_QUESTIONNAIRE), interviews, year="2026", language="vi", min_n=5)
    assert report.shares is not None
    shown = {r["id"]: r for r in report.shares.rows}
    reference = _rows("reference.csv")
    assert {r["id"] for r in reference} <= set(shown)
    for ref in reference:
        row = shown[ref["id"]]
        assert row["n"] == int(ref["n"])
        assert row["estimate"] == pytest.approx(float(ref["estimate"]), rel=1e-8)
        assert row["se"] == pytest.approx(float(ref["se"]), rel=1e-8)
        assert row["ci_low"] == pytest.approx(float(ref["ci_low"]), rel=1e-8)
        assert row["ci_high"] == pytest.approx(float(ref["ci_high"]), rel=1e-8)
    # near 0 the Wald interval would leave [0, 1]; the logit one stays inside and is asymmetric
    rare = shown["t_budget_posted"]
    t = stats.t.ppf(0.975, int(reference[0]["df"]))
    assert rare["estimate"] - t * rare["se"] < 0 < rare["ci_low"]  # type: ignore[operator]
    assert rare["ci_high"] - rare["estimate"] > rare["estimate"] - rare["ci_low"]  # type: ignore[operator]


def test_the_staff_papi_page_shows_the_shares_and_their_download(app: Flask, client, interviews: Unit,  # type: ignore[no-untyped-def]
                                                                 staff) -> None:
    from survey.store.models import Role
    from tests.release_actions import add_user

    add_user(app.extensions["hailong.engine"], "canbo2", Role.STAFF)
    staff.login("canbo2")
    page = client.get("/staff/papi?unit=96&year=2026").get_data(as_text=True)
    assert 'id="papi-shares"' in page and "svyciprop" in page
    reference = {r["id"]: r for r in _rows("reference.csv")}
    low, high = float(reference["t_budget_posted"]["ci_low"]), float(reference["t_budget_posted"]["ci_high"])
    assert f"{low * 100:.1f}% – {high * 100:.1f}%".replace(".", ",") in page  # the decimal comma (vi)
    response = client.get("/staff/papi.csv?unit=96&year=2026&table=shares&excel=0")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["Mã"] for r in rows} >= set(reference)


def test_the_release_snapshot_and_the_portal_papi_page_carry_the_shares(app: Flask, client, db: Session,  # type: ignore[no-untyped-def]
                                                                        interviews: Unit) -> None:
    from survey.periods import Period
    from survey.portal.snapshot_builder import ReleaseSpec, build_snapshot
    from tests.portal_fixtures import publish, sample_snapshot

    with app.app_context(), force_locale("vi"):
        spec = ReleaseSpec(period=Period.parse("2026"), scope="96", questionnaires=(PAPI_QUESTIONNAIRE,),
                           min_publish_n=57)
        built = build_snapshot(db, spec, release={"id": 0})  # type: ignore[typeddict-item]
    assert built["papi"] is not None
    shares = {s["key"]: s for s in built["papi"]["shares"]}
    reference = {r["id"]: r for r in _rows("reference.csv")}
    for key in ("p_knows_term", "p_meeting"):  # 56 and 59 answers: 56 < 57 is suppressed
        ref = reference[key]
        if int(ref["n"]) < 57:
            assert shares[key]["suppressed"] and shares[key]["estimate"] is None and shares[key]["ci_low"] is None
        else:
            assert shares[key]["estimate"] == pytest.approx(float(ref["estimate"]), rel=1e-8)
            assert shares[key]["ci_low"] == pytest.approx(float(ref["ci_low"]), rel=1e-8)
            assert shares[key]["ci_high"] == pytest.approx(float(ref["ci_high"]), rel=1e-8)
    assert {s["suppressed"] for s in shares.values()} == {True, False}
    # the portal page shows them with the decimal comma
    document = sample_snapshot()
    document["papi"]["shares"] = built["papi"]["shares"]
    release = publish(db, document)
    html = client.get(f"/portal/r/{release.id}/papi/").get_data(as_text=True)
    section = html[html.index('id="papi-shares"'):]
    section = section[:section.index("</section>")]
    meeting = shares["p_meeting"]
    low = f"{meeting['ci_low'] * 100:.1f}".replace(".", ",")
    assert low in section and "svyciprop" in section
    assert "chưa đủ ý kiến để công bố" in section
