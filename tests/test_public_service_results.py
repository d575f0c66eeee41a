"""The satisfaction pages score every questionnaire with a satisfaction index — the SIPAS forms
and the public-service forms (hospital, school, infrastructure: plain mean of elements) — and
send PAPI questionnaires to their own page instead of failing; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy import select

from survey.collect.responses import store_response
from survey.reports.sipas_tables import scored_as_sipas, sipas_spec
from survey.store.catalogue import latest
from survey.store.models import Channel, Service, Unit

HOSPITAL = "service-hospital"


def test_each_questionnaire_maps_to_a_scoring_rule() -> None:
    assert sipas_spec(latest(HOSPITAL)).overall_rule == "plain_mean"
    assert sipas_spec(latest("sipas-kiosk")).overall_rule == "par_weighted"
    assert not scored_as_sipas(latest("papi-household"))


def test_hospital_results_are_the_plain_mean_of_element_rates(app, client, db, papi_demo, staff) -> None:  # type: ignore[no-untyped-def]
    q = latest(HOSPITAL)
    unit = db.scalar(select(Unit).where(Unit.code == "cu-967"))
    service = db.scalar(select(Service).where(Service.code == "BV-HUYEN"))
    criteria = [x.id for x in q.scored_questions()]
    patients = [  # "9" (don't know) is stored but never a valid answer
        {c: 5 for c in criteria},
        {c: 2 for c in criteria},
        {**{c: 4 for c in criteria}, "h_waiting_time": 1, "h_equipment": 9},
    ]
    for answers in patients:
        outcome = store_response(db, secret="s", questionnaire=q, unit_id=unit.id, service_id=service.id,
                                 channel=Channel.WEB, answers={"consent": True, **answers}, response_id=uuid.uuid4())
        assert outcome.outcome == "created"
    satisfied = {c: [a[c] in (4, 5) for a in patients if a[c] != 9] for c in criteria}
    rate = {c: sum(v) / len(v) for c, v in satisfied.items()}
    elements = {e.id: [rate[x.id] for x in q.scored_questions() if x.element == e.id] for e in q.elements}
    expected = sum(sum(v) / len(v) for v in elements.values()) / len(elements)

    staff.login()
    # the ratings are of today's quarter, under way: "period=" asks for all quarters (the default is the last complete one)
    resp = client.get(f"/staff/results.csv?unit=cu-967&service=BV-HUYEN&questionnaire={HOSPITAL}&excel=0&period=")
    assert resp.status_code == 200
    rows = {r["Mã"]: r for r in csv.DictReader(io.StringIO(resp.get_data(as_text=True)))}
    assert abs(float(rows["overall"]["Giá trị"]) - expected) < 1e-4
    assert abs(float(rows["h_equipment"]["Giá trị"]) - 0.5) < 1e-4 and rows["h_equipment"]["Số ý kiến hợp lệ (n)"] == "2"
    assert "par_points" not in rows  # no PAR 8.1 maxima on a hospital form
    # Once answered, the form is offered in the questionnaire picker by its title (PAPI is not).
    page = client.get(f"/staff/results?unit=cu-967&service=BV-HUYEN&questionnaire={HOSPITAL}").get_data(as_text=True)
    assert f'<option value="{HOSPITAL}" selected>{q.title.get("vi")}</option>' in page
    assert 'value="papi-household"' not in page


def test_papi_on_the_satisfaction_pages_is_explained_not_a_crash(client, papi_demo, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()
    for url in ("/staff/results?unit=96&service=TTHC-XA&questionnaire=papi-household",
                "/staff/results.csv?unit=96&service=TTHC-XA&questionnaire=papi-household",
                "/staff/ranking?questionnaire=papi-household"):
        resp = client.get(url)
        assert resp.status_code == 400, url
        assert "được tính điểm ở trang PAPI" in resp.get_data(as_text=True)


def test_an_overall_item_outside_the_elements_can_be_the_overall_index(app, db, demo) -> None:  # type: ignore[no-untyped-def]
    """``overall_rule: overall_item``: the index is the share satisfied on that one question."""
    import dataclasses

    from survey.reports.sipas_tables import sipas_report

    kiosk = latest("sipas-kiosk")
    q = dataclasses.replace(kiosk, overall_rule="overall_item", overall_question="overall")
    unit = db.scalar(select(Unit).where(Unit.code == "cu-968"))
    service = db.scalar(select(Service).where(Service.code == "DKKD"))
    criteria = {x.id: 3 for x in kiosk.scored_questions()}
    for overall in (5, 4, 2, 1):
        store_response(db, secret="s", questionnaire=kiosk, unit_id=unit.id, service_id=service.id,
                       channel=Channel.WEB, answers={**criteria, "overall": overall}, response_id=uuid.uuid4())
    with app.test_request_context("/?lang=vi"):
        report = sipas_report(db, q, unit, service, language="vi", min_n=1)
    rows = {r["id"]: r for r in report.table.rows}
    assert rows["overall"]["estimate"] == 0.5 and rows["overall"]["n"] == 4  # the demo never answers it
