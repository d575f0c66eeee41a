"""Forms built from definitions, validated on the server, shown to staff in the preview."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.datastructures import MultiDict

from questionnaires import load_library
from survey.collect.forms import answers_from_form, build_form

INFRA = "/staff/questionnaires/service-infrastructure/2025.1"


def _errors(page: str) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", page)


def test_preview_needs_a_staff_login(client: Any, demo: Any) -> None:
    resp = client.get("/staff/questionnaires/")
    assert resp.status_code in (302, 401)
    assert client.get(f"{INFRA}.xlsx").status_code in (302, 401)


def test_preview_lists_and_shows_every_version_in_both_languages(client: Any, demo: Any, staff: Any) -> None:
    staff.login()
    page = client.get("/staff/questionnaires/?lang=vi").get_data(as_text=True)
    for q in load_library().values():
        assert f"/staff/questionnaires/{q.id}/{q.version}" in page
    vi = client.get("/staff/questionnaires/sipas/2017.1?lang=vi").get_data(as_text=True)
    assert "Nơi ngồi chờ có đủ chỗ ngồi" in vi and "Xem trước phiên bản 2017.1" in vi
    en = client.get("/staff/questionnaires/sipas/2017.1?lang=en").get_data(as_text=True)
    assert "There are enough seats in the waiting area" in en and 'data-relevant="${gave_feedback} = 1"' in en
    assert client.get("/staff/questionnaires/sipas/1999.1").status_code == 404
    xlsx = client.get(f"{INFRA}.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_rejected_submission_keeps_answers_and_speaks_vietnamese(client: Any, demo: Any, staff: Any) -> None:
    staff.login()
    data = {"consent": "y", "has_grid_power": "1", "power_cuts_month": "abc", "water_source": "well",
            "i_road_condition": "4", "has_waste_collection": "0", "waste_fee": "-5", "comment": "Đường hay ngập"}
    resp = client.post(f"{INFRA}?lang=vi", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    errors = _errors(page)
    # power_cuts_month is shown (has_grid_power = 1): one clear message, not two; the required
    # items still missing are the two power ratings and road lighting (the water ratings are
    # hidden: the water is not piped); waste_fee is hidden, so its bad value is not validated.
    assert errors == ["Xin nhập số nguyên.", "Vui lòng trả lời câu hỏi này.", "Vui lòng trả lời câu hỏi này.",
                      "Vui lòng trả lời câu hỏi này."]
    assert re.search(r'<input[^>]*name="power_cuts_month"[^>]*value="abc"', page)
    assert re.search(r'<input[^>]*checked[^>]*value="well"', page)
    assert "Đường hay ngập" in page and 'aria-describedby="None"' not in page


def test_valid_submission_drops_answers_to_hidden_questions(app: Any) -> None:
    questionnaire = load_library()["service-infrastructure", "2025.1"]
    data = MultiDict({"consent": "y", "has_grid_power": "0", "power_cuts_month": "7", "water_source": "piped",
                      "i_water_quality": "5", "i_water_steady": "9", "i_road_condition": "4", "i_road_lighting": "2",
                      "has_waste_collection": "0", "waste_fee": "20"})
    with app.test_request_context("/"):
        form = build_form(questionnaire, "en")(formdata=data, meta={"csrf": False})
        assert form.validate(), form.errors
        answers = answers_from_form(questionnaire, form)
    assert "power_cuts_month" not in answers and "waste_fee" not in answers
    assert answers["i_water_quality"] == 5 and answers["i_water_steady"] == 9 and answers["consent"] is True


def test_constraints_and_dossier_codes_are_checked_in_the_respondents_language(app: Any) -> None:
    library = load_library()
    hospital = library["service-hospital", "2025.1"]
    kiosk = library["sipas-kiosk", "2025.2"]
    with app.test_request_context("/"):
        form = build_form(hospital, "en")(formdata=MultiDict({"age": "12"}), meta={"csrf": False})
        form.validate()
        assert form.age.errors == ["Age must be between 15 and 110."]  # the definition's own message
        form = build_form(hospital, "vi")(formdata=MultiDict({"age": "12", "inpatient_days": "0"}), meta={"csrf": False})
        form.validate()
        assert form.age.errors == ["Tuổi phải từ 15 đến 110."]
        assert form.inpatient_days.errors == []  # hidden: care_type is not 'inpatient'
        form = build_form(hospital, "vi")(formdata=MultiDict({"care_type": "inpatient", "inpatient_days": "0"}),
                                          meta={"csrf": False})
        form.validate()
        assert form.inpatient_days.errors == ["Vui lòng nhập một số từ 1 đến 365."]
        base = {"access_facilities": "5", "procedure_as_regulated": "4", "servant_conduct": "4",
                "result_on_time": "5", "feedback_channel": "3"}
        form = build_form(kiosk, "vi")(formdata=MultiDict({**base, "dossier_code": "??"}), meta={"csrf": False})
        assert not form.validate()
        assert form.dossier_code.errors == ["Mã hồ sơ chưa đúng. Xin kiểm tra lại trên giấy biên nhận."]
        form = build_form(kiosk, "en")(formdata=MultiDict({**base, "dossier_code": " 000.00.12.H12-250101-0001 "}),
                                        meta={"csrf": False})
        assert form.validate(), form.errors
        assert answers_from_form(kiosk, form)["dossier_code"] == "000.00.12.H12-250101-0001"
        # the kiosk works without a dossier code
        form = build_form(kiosk, "en")(formdata=MultiDict(base), meta={"csrf": False})
        assert form.validate() and "dossier_code" not in answers_from_form(kiosk, form)
