"""PAPI-style governance scores for staff, from enumerators' household interviews, on SQLite and
PostgreSQL: the structure comes from the questionnaire, the scores match sums done here by hand,
and the intervals are those of a stratified cluster sample (the strata and villages the survey's
design columns give each interview: the old districts in 2024 and 2025, urban wards and rural
communes of today's map in 2026), recomputed here with the textbook with-replacement formula in
plain Python."""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from scipy import stats
from sqlalchemy import select

from survey.reports.papi_tables import PAPI_QUESTIONNAIRE, papi_spec
from survey.store import compact
from survey.store.catalogue import latest
from survey.store.models import AnswerValue, Response, Unit, UnitLevel

YEAR = "2026"  # interviews on today's map
OLD_YEAR = "2025"  # interviews on the old map: strata are the old districts


def _year(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return str((moment.astimezone(UTC) + timedelta(hours=7)).year)


def _interviews(db, year: str = YEAR) -> tuple[dict[object, dict[str, float]], dict[object, tuple[object, int]]]:  # type: ignore[no-untyped-def]
    """Answers (scored codes only) and (stratum of the sample design, village id) of every
    interview in ``year``; in a year of the old map the stratum is the old district's id (the
    interview's village → old commune → district, checked against the stored design stratum)."""
    q = latest(PAPI_QUESTIONNAIRE)
    units = {u.id: u for u in db.scalars(select(Unit))}
    unscored = {x.id: {c.value for c in x.choices if not c.scored} for x in q.scored_questions()}
    where = (Response.questionnaire_id == PAPI_QUESTIONNAIRE,)
    place: dict[object, tuple[object, int]] = {}
    for rid, unit_id, submitted, stratum in db.execute(select(
            Response.id, Response.unit_id, Response.submitted_at, Response.stratum).where(*where)):
        if _year(submitted) == year:
            district = units[units[unit_id].parent_id].parent_id  # village → commune → (old) district
            if units[district].level == UnitLevel.DISTRICT:
                assert units[district].official_code == stratum
                place[rid] = (district, unit_id)
            else:
                place[rid] = (stratum, unit_id)
    answers: dict[object, dict[str, float]] = defaultdict(dict)
    for rid, question, value in db.execute(select(AnswerValue.response_id, AnswerValue.question_id, AnswerValue.value_num)
                                           .join(Response, Response.id == AnswerValue.response_id)
                                           .where(*where, AnswerValue.question_id.in_(list(unscored)))):
        if rid in place and value is not None and value not in unscored[question]:
            answers[rid][question] = value
    return answers, place


def _csv(client, url: str) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    resp = client.get(url)
    assert resp.status_code == 200 and resp.get_data().startswith(b"\xef\xbb\xbf")
    return {r["Mã"]: r for r in csv.DictReader(io.StringIO(resp.get_data().decode("utf-8-sig")))}


def test_papi_structure_is_read_from_the_questionnaire() -> None:
    spec = papi_spec(latest(PAPI_QUESTIONNAIRE))
    assert len(spec.dimensions) == 8
    assert sum(len(d.sub_dimensions) for d in spec.dimensions) == 28
    indicators = {i.column: i for d in spec.dimensions for s in d.sub_dimensions for i in s.indicators}
    assert len(indicators) == 39
    assert indicators["c_bribe_land"].higher_is_better is False  # reverse-coded: more bribes, lower score
    assert (indicators["t_info_easy"].low, indicators["t_info_easy"].high) == (1.0, 4.0)


def _hand_scores(db, year: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Every sub-dimension, dimension and the total of the province in ``year``, by hand."""
    spec = papi_spec(latest(PAPI_QUESTIONNAIRE))
    answers, _place = _interviews(db, year)
    expected: dict[str, float] = {}
    for dimension in spec.dimensions:
        k = len(dimension.sub_dimensions)
        total_dim = 0.0
        for sub in dimension.sub_dimensions:
            rescaled = []
            for i in sub.indicators:
                values = [a[i.column] for a in answers.values() if i.column in a]
                m = sum(values) / len(values)
                share = (m - i.low) / (i.high - i.low)
                rescaled.append(1 + 9 * (share if i.higher_is_better else 1 - share))
            expected[sub.id] = sum(rescaled) / len(rescaled) / k
            total_dim += expected[sub.id]
        expected[dimension.id] = total_dim
    expected["total"] = sum(expected[d.id] for d in spec.dimensions)
    return expected


def test_province_scores_and_changes_match_hand_sums_of_rescaled_indicators(client, db, papi_demo, staff) -> None:  # type: ignore[no-untyped-def]
    expected, before = _hand_scores(db, YEAR), _hand_scores(db, "2025")
    _answers, place = _interviews(db)
    staff.login()
    rows = _csv(client, f"/staff/papi.csv?unit=96&year={YEAR}")
    assert set(rows) == set(expected)
    for code, value in expected.items():
        assert math.isclose(float(rows[code]["Điểm"]), value, abs_tol=1e-4), code
        assert math.isclose(float(rows[code]["Thay đổi so với năm trước"]), value - before[code], abs_tol=1e-4), code
    assert rows["total"]["Số ý kiến hợp lệ (n)"] == str(len(place))
    assert rows["total"]["Số thôn/ấp (đơn vị mẫu cấp 1)"] == "32"  # the 2026 sample on today's map
    assert 8 <= float(rows["total"]["Điểm"]) <= 80
    # 2025 on today's map: the old villages' interviews re-aggregated onto the new province.
    then = _csv(client, "/staff/papi.csv?unit=96&year=2025")
    assert math.isclose(float(then["total"]["Điểm"]), before["total"], abs_tol=1e-4)
    assert then["total"]["Số thôn/ấp (đơn vị mẫu cấp 1)"] == "64"
    # The first year has nothing to change from.
    assert _csv(client, "/staff/papi.csv?unit=96&year=2024")["total"]["Thay đổi so với năm trước"] == ""


def test_district_interval_is_that_of_a_stratified_cluster_sample(client, db, papi_demo, staff) -> None:  # type: ignore[no-untyped-def]
    """d5_land has one indicator (s_land_quality, 1–5, asked only of land-office users) and its
    dimension three sub-dimensions: score = (1 + 9 (m − 1)/4) / 3, SE = 0.75 · SE(m), with SE(m)
    of a domain mean: z_j = w_j (y_j − m) / Σw over the district's valid answers, summed by
    village, v = Σ_h n_h/(n_h − 1) Σ_i (z_hi − z̄_h)² over all villages of the year's sample."""
    answers, place = _interviews(db, OLD_YEAR)
    district = db.scalar(select(Unit.id).where(Unit.code == "cu-967"))  # Huyện Thới Bình, before July 2025
    mine = [rid for rid, (d, _v) in place.items() if d == district and "s_land_quality" in answers[rid]]
    m = sum(answers[r]["s_land_quality"] for r in mine) / len(mine)
    psu_total: dict[tuple[int, int], float] = {p: 0.0 for p in place.values()}
    for rid in mine:
        psu_total[place[rid]] += (answers[rid]["s_land_quality"] - m) / len(mine)
    by_stratum: dict[int, list[float]] = defaultdict(list)
    for (stratum, _village), z in psu_total.items():
        by_stratum[stratum].append(z)
    variance = 0.0
    for zs in by_stratum.values():
        mean_z = sum(zs) / len(zs)
        variance += len(zs) / (len(zs) - 1) * sum((z - mean_z) ** 2 for z in zs)
    score, se = (1 + 9 * (m - 1) / 4) / 3, 0.75 * math.sqrt(variance)
    df = len(psu_total) - len(by_stratum)
    assert df == 48  # 64 villages in 16 districts

    staff.login()
    row = _csv(client, f"/staff/papi.csv?unit=cu-967&year={OLD_YEAR}")["d5_land"]
    assert math.isclose(float(row["Điểm"]), score, abs_tol=1e-4)
    assert math.isclose(float(row["Sai số chuẩn"]), se, abs_tol=1e-4)
    half = stats.t.ppf(0.975, df) * se
    assert math.isclose(float(row["Cận dưới KTC 95%"]), score - half, abs_tol=1e-4)
    assert math.isclose(float(row["Cận trên KTC 95%"]), score + half, abs_tol=1e-4)
    page = staff.client.get(f"/staff/papi?unit=cu-967&year={OLD_YEAR}").get_data(as_text=True)
    assert "48 bậc tự do" in page and "Số hộ được phỏng vấn trong đơn vị này" in page
    assert "Thay đổi so với năm 2024" in page


def test_one_village_has_no_interval_and_the_download_has_no_personal_data(client, db, papi_demo, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()
    rows = _csv(client, f"/staff/papi.csv?unit=31825-A1&year={YEAR}")  # a village of the 2026 sample
    d1 = rows["d1"]  # asked of everyone (the total needs land-office users too, rare among 4 households)
    assert d1["Số thôn/ấp (đơn vị mẫu cấp 1)"] == "1" and d1["Mẫu nhỏ"] == "1"
    assert 1 <= float(d1["Điểm"]) <= 10 and d1["Cận dưới KTC 95%"] == "" and d1["Sai số chuẩn"] == ""
    body = client.get(f"/staff/papi.csv?unit=96&year={YEAR}").get_data(as_text=True)
    for personal in ("dieutravien", "Nguyễn Văn A", "Hộ 0", "kinh", "female", "farmer"):
        assert personal not in body


def test_demo_interviews_follow_the_skip_logic(db, papi_demo) -> None:  # type: ignore[no-untyped-def]
    answers: dict[object, dict[str, float | None]] = defaultdict(dict)
    for rid, question, value in db.execute(select(AnswerValue.response_id, AnswerValue.question_id, AnswerValue.value_num)
                                           .join(Response, Response.id == AnswerValue.response_id)
                                           .where(Response.questionnaire_id == PAPI_QUESTIONNAIRE)):
        answers[rid][question] = value
    assert len(answers) == (2 * 64 + 32) * 6  # 2024 and 2025 in 64 old villages, 2026 in 32 of today's
    land_users = [a for a in answers.values() if a.get("s_used_land") == 1]
    assert land_users and all("s_land_quality" in a for a in land_users)
    assert all("s_land_quality" not in a for a in answers.values() if a.get("s_used_land") == 0)


def test_papi_page_in_both_languages_and_bad_choices(client, papi_demo, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()
    page = client.get("/staff/papi").get_data(as_text=True)  # the province, the latest year
    assert "Hiệu quả quản trị và hành chính công (PAPI)" in page and "Tỉnh Cà Mau — 2026" in page
    assert "Kiểm soát tham nhũng trong khu vực công" in page and "Điểm tổng hợp PAPI" in page
    english = client.get("/staff/papi?year=2025&lang=en").get_data(as_text=True)
    assert "Control of corruption" in english and "PAPI total" in english
    empty = client.get("/staff/papi?year=2019&lang=vi").get_data(as_text=True)
    assert "Chưa có phiếu phỏng vấn hộ gia đình nào" in empty
    assert client.get("/staff/papi?year=20x6").status_code == 400
    assert client.get("/staff/papi?unit=khong-co").status_code == 404


def test_districts_are_compared_on_totals_summed_by_hand_and_ranked(app, client, db, papi_demo, staff) -> None:  # type: ignore[no-untyped-def]
    app.config["MIN_PUBLISH_N"] = 10
    spec = papi_spec(latest(PAPI_QUESTIONNAIRE))
    answers, place = _interviews(db, OLD_YEAR)
    codes = {u.id: u.code for u in db.scalars(select(Unit).where(Unit.level == UnitLevel.DISTRICT))}
    expected = {}
    for district, code in codes.items():
        total = 0.0
        for dimension in spec.dimensions:
            for sub in dimension.sub_dimensions:
                rescaled = []
                for i in sub.indicators:
                    values = [a[i.column] for r, a in answers.items() if place[r][0] == district and i.column in a]
                    share = (sum(values) / len(values) - i.low) / (i.high - i.low)
                    rescaled.append(1 + 9 * (share if i.higher_is_better else 1 - share))
                total += sum(rescaled) / len(rescaled) / len(dimension.sub_dimensions)
        expected[code] = total
    staff.login()
    old_map = f"year={OLD_YEAR}&map=then&level=district"  # the districts of 2025, as surveyed then
    rows = _csv(client, f"/staff/papi.csv?{old_map}&table=districts")
    assert set(rows) == set(expected) and len(expected) == 16
    for code, total in expected.items():
        assert math.isclose(float(rows[code]["Điểm tổng hợp PAPI"]), total, abs_tol=1e-4), code
        assert rows[code]["Số thôn/ấp (đơn vị mẫu cấp 1)"] == "4"
    ranked = sorted(expected, key=lambda c: -expected[c])
    assert [int(rows[c]["Hạng"]) for c in ranked] == list(range(1, 17))
    q1, q2, q3 = statistics.quantiles([expected[c] for c in ranked], n=4, method="inclusive")
    assert [int(rows[c]["Nhóm"]) for c in ranked] == [
        1 if expected[c] >= q3 else 2 if expected[c] >= q2 else 3 if expected[c] >= q1 else 4 for c in ranked]
    for code in ranked:  # the rank interval holds the rank and stays within 1…16
        best, worst = int(rows[code]["Khoảng hạng 95%: cao nhất"]), int(rows[code]["Khoảng hạng 95%: thấp nhất"])
        assert 1 <= best <= int(rows[code]["Hạng"]) <= worst <= 16
    # Four villages of 6 households per district: the districts cannot all be told apart.
    assert any(rows[c]["Khoảng hạng 95%: cao nhất"] != rows[c]["Khoảng hạng 95%: thấp nhất"] for c in ranked)
    page = client.get(f"/staff/papi?{old_map}").get_data(as_text=True)
    assert "So sánh các đơn vị: Cấp huyện (trước tháng 7/2025) — 2025" in page
    assert 'href="/staff/papi?unit=cu-964&amp;year=2025&amp;map=then"' in page
    assert "mẫu lặp bootstrap" in page and 'class="rank-interval"' in page
    # Under the default minimum of 30 answers, 6 interviews × 4 villages are too few to rank.
    app.config["MIN_PUBLISH_N"] = 30
    rows = _csv(client, f"/staff/papi.csv?{old_map}&table=districts")
    assert all(r["Hạng"] == "" and r["Nhóm"] == "" and r["Khoảng hạng 95%: cao nhất"] == "" and r["Mẫu nhỏ"] == "1"
               for r in rows.values())


def test_an_answer_past_an_indicators_bound_is_top_coded_not_a_crash(client, db, papi_demo, staff) -> None:  # type: ignore[no-untyped-def]
    """v_school_minutes accepts up to 600 minutes; its scale ends at 120 (reverse-coded): an
    answer of 480 scores exactly as 120 would."""
    staff.login()
    answer = db.scalar(select(AnswerValue).join(Response, Response.id == AnswerValue.response_id)
                       .where(AnswerValue.question_id == "v_school_minutes", Response.questionnaire_id == PAPI_QUESTIONNAIRE)
                       .order_by(AnswerValue.response_id).limit(1))
    response = db.get(Response, answer.response_id)
    year = _year(response.submitted_at)
    scores = {}
    for minutes in (120.0, 480.0):  # 480 does not fit a byte's 0..254: the response's answers become rows
        compact.set_number(db, response, "v_school_minutes", minutes)
        db.commit()
        scores[minutes] = _csv(client, f"/staff/papi.csv?unit=96&year={year}")
    assert scores[480.0] == scores[120.0]
    assert float(scores[480.0]["d6"]["Điểm"]) > 1


def test_an_old_commune_compared_village_by_village_has_no_floating_point_trouble(app, db, papi_demo) -> None:  # type: ignore[no-untyped-def]
    """Six interviews per village, some indicators answered in a village by one household only (skip
    logic): its SRS variance does not exist (scoring.composites.srs_variance) and is not computed as
    0 × ∞. Any such operation raises here (and pytest turns any warning into an error)."""
    import numpy as np
    from flask_babel import force_locale

    from survey.reports.papi_tables import papi_report

    old = db.scalars(select(Unit).where(Unit.level == UnitLevel.COMMUNE, Unit.valid_to.is_not(None))
                     .order_by(Unit.code)).first()
    assert old is not None
    with app.test_request_context(), force_locale("vi"), np.errstate(all="raise"):
        for year, todays_map in ((OLD_YEAR, False), (OLD_YEAR, True), (YEAR, True)):
            report = papi_report(db, latest(PAPI_QUESTIONNAIRE), old, year=year, language="vi",
                                 compare_level=UnitLevel.HAMLET, todays_map=todays_map, min_n=5)
            if not todays_map:
                assert report.n_responses == 6 * report.n_villages > 0
                assert [row["n"] for row in report.districts.rows] == [6] * report.n_villages
            for row in report.table.rows:
                assert row["estimate"] is None or math.isfinite(row["estimate"])  # type: ignore[arg-type]
