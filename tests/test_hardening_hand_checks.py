"""Issue 12 point 24: the staff tables' secondary columns checked against values computed by hand.

Every figure here comes from a small province built in the test (``tests/hand_province.py``), whose
ratings are chosen one by one — never the demo's random data — and every expected value is computed
in the test from those counts, with the arithmetic in view: the ranking's standard errors, intervals,
changes and significance flags, its median (not a mean), its groups, the small-sample boundary at
exactly n = 30 and 29, the Vietnamese order of the units, ``CONFIDENCE_LEVEL = 0.90`` end to end
(page, CSV download, release), the export's quarter filter (in Vietnam time), the receipt QR's
payload and round trip, and the SIPAS 2017 PAR weights with the published Cần Thơ 2022 anchors
(PAR 8.1 = 8,07 points; overall 80,70% weighted, 80,45% plain; /work/shared/methodology.md §2).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sqlalchemy import select

from tests.hand_province import COMMUNES, add_ratings, hand_province, satisfied

Q1 = datetime(2026, 1, 12, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam, well inside 2026-Q1
Q2 = datetime(2026, 4, 13, 2, 0, tzinfo=UTC)

# What each commune gets: (code, ratings in 2026-Q1 as (satisfied, n), in 2026-Q2 as (satisfied, n)).
PLAN = {
    "96101": ((24, 30), (18, 30)),  # Ưng Hòa: 80% → 60%, z ≈ 1.73: significant at 90%, not at 95%
    "96102": ((27, 30), (10, 30)),  # Đất Mũi: 90% → 33.3%, significant at any usual level
    "96103": (None, (24, 30)),  # Dương Hòa: exactly 30 answers, ranked
    "96104": (None, (27, 30)),  # U Minh
    "96105": (None, (20, 29)),  # Ơn Đức: 29 answers, one short of the minimum: listed, not ranked
}


def _vietnamese_key(name: str) -> tuple[list[int], list[int]]:
    """The Vietnamese dictionary order written out here, apart from survey/text.py: base letters
    in the order of the Vietnamese alphabet (a ă â b c d đ e ê … o ô ơ … u ư …), then tones
    (none, huyền, hỏi, ngã, sắc, nặng) to break ties."""
    alphabet = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
    tones = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
    letters: list[int] = []
    marks: list[int] = []
    for char in name.lower():
        parts = unicodedata.normalize("NFD", char)
        base, accents = parts[0], parts[1:]
        tone = next((tones[a] for a in accents if a in tones), 0)
        shape = unicodedata.normalize("NFC", base + "".join(a for a in accents if a not in tones))
        letters.append(alphabet.index(shape) + 1 if shape in alphabet else 100 + ord(shape))
        marks.append(tone)
    return letters, marks


def _frame_size() -> int:
    """N: every approved rating the ranking reads (all quarters, all units)."""
    return sum(n for before, after in PLAN.values() for _k, n in [x for x in (before, after) if x])


def _se(k: int, n: int, big_n: int) -> float:
    """The standard error of a domain share by Taylor linearisation, each rating its own PSU, one
    stratum: SE² = N/(N−1) · Σ_{i∈d} (y_i − p)² / n², with Σ (y_i − p)² = k(1−p)² + (n−k)p²."""
    p = k / n
    return math.sqrt(big_n / (big_n - 1) * (k * (1 - p) ** 2 + (n - k) * p ** 2) / n ** 2)


def _logit_interval(p: float, se: float, level: float, df: int) -> tuple[float, float]:
    """R's svyciprop(method="logit"): p ± t·SE on the logit scale (SE/(p(1−p))), back-transformed;
    t on the design's degrees of freedom (#PSU − #strata)."""
    t = stats.t.ppf((1 + level) / 2, df)
    centre, spread = math.log(p / (1 - p)), t * se / (p * (1 - p))
    return 1 / (1 + math.exp(-(centre - spread))), 1 / (1 + math.exp(-(centre + spread)))


@pytest.fixture
def province(app):  # type: ignore[no-untyped-def]
    engine = app.extensions["hailong.engine"]
    ids = hand_province(engine)
    for code, (before, after) in PLAN.items():
        if before:
            add_ratings(engine, code, Q1, satisfied(*before))
        add_ratings(engine, code, Q2, satisfied(*after))
    return ids


def _login(client) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/auth/login", data={"username": "canbo", "password": "hailong-demo"}).status_code == 302


def _ranking_csv(client) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    resp = client.get("/staff/ranking.csv?level=commune&period=2026-Q2&excel=0")
    assert resp.status_code == 200
    return {r["Mã"]: r for r in csv.DictReader(io.StringIO(resp.get_data(as_text=True)))}


@pytest.mark.parametrize("level", [0.90, 0.95])
def test_the_rankings_intervals_changes_and_significance_match_the_hand_computation(  # type: ignore[no-untyped-def]
        app, client, province, level) -> None:
    app.config["CONFIDENCE_LEVEL"] = level
    _login(client)
    rows = _ranking_csv(client)
    pct = round(level * 100)
    big_n = _frame_size()  # 60 in Q1 + 149 in Q2 = 209 ratings, each its own PSU: design df = 208
    assert big_n == 209
    for code, (before, (k, n)) in PLAN.items():
        row = rows[code]
        p = k / n
        assert int(row["Số ý kiến hợp lệ (n)"]) == n
        assert math.isclose(float(row["Chỉ số hài lòng chung"]), p, abs_tol=5e-5), code
        se = _se(k, n, big_n)
        assert math.isclose(float(row["Sai số chuẩn"]), se, abs_tol=5e-7), code
        low, high = _logit_interval(p, se, level, big_n - 1)
        assert math.isclose(float(row[f"Cận dưới KTC {pct}%"]), low, abs_tol=5e-5), (code, low)
        assert math.isclose(float(row[f"Cận trên KTC {pct}%"]), high, abs_tol=5e-5), (code, high)
        if before is None:
            assert row["Thay đổi so với quý trước"] == "" and row["Thay đổi có ý nghĩa thống kê"] == ""
            continue
        # The change: difference of the two quarters' shares; the quarters' ratings are disjoint,
        # so its SE is √(SE₁² + SE₂²); significant when its interval at the level excludes 0.
        change = p - before[0] / before[1]
        change_se = math.sqrt(se ** 2 + _se(*before, big_n) ** 2)
        assert math.isclose(float(row["Thay đổi so với quý trước"]), change, abs_tol=5e-5)
        assert math.isclose(float(row["Sai số chuẩn của thay đổi"]), change_se, abs_tol=5e-5)
        significant = abs(change) > stats.t.ppf((1 + level) / 2, big_n - 1) * change_se
        assert row["Thay đổi có ý nghĩa thống kê"] == str(int(significant)), (code, change / change_se)
    # Ưng Hòa's fall of 20 points is 1.73 standard errors: significant at 90%, not at 95%.
    assert rows["96101"]["Thay đổi có ý nghĩa thống kê"] == ("1" if level == 0.90 else "0")
    assert rows["96102"]["Thay đổi có ý nghĩa thống kê"] == "1"  # 5.5 standard errors


def test_ranks_groups_median_and_the_small_sample_boundary(app, client, province) -> None:  # type: ignore[no-untyped-def]
    _login(client)
    rows = _ranking_csv(client)
    shares = {code: k / n for code, (_b, (k, n)) in PLAN.items() if n >= 30}  # the minimum is 30 answers
    assert set(shares) == {"96101", "96102", "96103", "96104"}
    # Ranked by the index, highest first: U Minh 0.9, Dương Hòa 0.8, Ưng Hòa 0.6, Đất Mũi 0.333.
    by_index = sorted(shares, key=lambda c: -shares[c])
    assert [rows[c]["Hạng"] for c in by_index] == ["1", "2", "3", "4"]
    # Exactly 30 answers: ranked, not a small sample; 29: listed without rank or group, a small sample.
    assert rows["96103"]["Hạng"] == "2" and rows["96103"]["Mẫu nhỏ"] == "0" and rows["96103"]["Nhóm"] != ""
    assert rows["96105"]["Số ý kiến hợp lệ (n)"] == "29"
    assert rows["96105"]["Hạng"] == "" and rows["96105"]["Nhóm"] == "" and rows["96105"]["Mẫu nhỏ"] == "1"
    assert rows["96105"]["Chỉ số hài lòng chung"] != ""  # still shown
    # Groups cut at the quartiles of the ranked indices, R type 7 (h = (n−1)·q on the sorted values):
    # sorted 1/3, 0.6, 0.8, 0.9 → Q1 = 1/3 + 0.75·(0.6 − 1/3) = 0.5333, Q2 = (0.6 + 0.8)/2 = 0.7,
    # Q3 = 0.8 + 0.25·(0.9 − 0.8) = 0.825.
    ordered = sorted(shares.values())
    q1 = ordered[0] + 0.75 * (ordered[1] - ordered[0])
    q2 = (ordered[1] + ordered[2]) / 2
    q3 = ordered[2] + 0.25 * (ordered[3] - ordered[2])
    for code, share in shares.items():
        group = 1 if share >= q3 else 2 if share >= q2 else 3 if share >= q1 else 4
        assert rows[code]["Nhóm"] == str(group), code
    assert [rows[c]["Nhóm"] for c in by_index] == ["1", "2", "3", "4"]
    # The province-wide row: all 149 ratings of the quarter, 99 of them satisfied.
    assert rows["96"]["Số ý kiến hợp lệ (n)"] == "149"
    assert math.isclose(float(rows["96"]["Chỉ số hài lòng chung"]), 99 / 149, abs_tol=5e-5)
    # The page closes the table with the median of the ranked units — (0.6 + 0.8)/2 = 70,0%, not
    # their mean (0.9 + 0.8 + 0.6 + 1/3)/4 = 65,8% — and the highest and lowest, with a decimal comma.
    median, mean = float(np.median(ordered)), sum(ordered) / len(ordered)
    assert f"{median * 100:.1f}" == "70.0" and f"{mean * 100:.1f}" == "65.8"
    page = client.get("/staff/ranking?level=commune&period=2026-Q2").get_data(as_text=True)
    footer = page[page.index('class="summary summary-median"'):page.index("</tfoot>")]
    assert '<td class="num">70,0%</td>' in footer and "65,8%" not in footer
    assert '<td class="num">90,0%</td>' in footer and '<td class="num">33,3%</td>' in footer
    assert "(1–2)" in page or "(1–1)" in page  # each rank carries its interval
    assert "−20,0 điểm phần trăm" in page  # Ưng Hòa's change, decimal comma and a true minus sign


def test_units_are_listed_in_vietnamese_order_in_the_page_and_the_download(app, client, province) -> None:  # type: ignore[no-untyped-def]
    _login(client)
    body = client.get("/staff/ranking.csv?level=commune&period=2026-Q2&excel=0").get_data(as_text=True)
    listed = [r["Đơn vị"] for r in csv.DictReader(io.StringIO(body)) if r["Hạng"] == "" and r["Mã"] != "96"]
    unranked = [name for code, name in COMMUNES if code not in {"96101", "96102", "96103", "96104"}]
    expected = sorted(unranked, key=_vietnamese_key)
    assert expected == ["Xã An Minh", "Xã Ăn Khê", "Xã Ân Thi", "Xã Ô Môn", "Xã Ơn Đức", "Xã Zô Lai"]
    assert sorted(unranked) != expected  # a code-point sort would put Ă, Â, Ô, Ơ after Z
    assert listed == expected
    page = client.get("/staff/ranking?level=commune&period=2026-Q2").get_data(as_text=True)
    positions = [page.index(f">{name}<") for name in expected]
    assert positions == sorted(positions)
    # The unit pickers of the staff pages follow the same order (Đ after D, Ư after U).
    names = [name for _c, name in COMMUNES]
    expected_all = sorted(names, key=_vietnamese_key)
    assert expected_all.index("Xã Đất Mũi") == expected_all.index("Xã Dương Hòa") + 1
    assert expected_all.index("Xã Ưng Hòa") == expected_all.index("Xã U Minh") + 1
    from survey.text import sort_key

    assert sorted(names, key=sort_key) == expected_all


def test_a_confidence_level_of_90_percent_reaches_the_page_the_download_and_the_release(  # type: ignore[no-untyped-def]
        database_url, tmp_path) -> None:
    from tests.conftest import BrowserClient
    from tests.release_actions import Workflow, newest_release, release_app

    for app in release_app(database_url, tmp_path, CONFIDENCE_LEVEL=0.90):
        app.test_client_class = BrowserClient
        engine = app.extensions["hailong.engine"]
        hand_province(engine)
        add_ratings(engine, "96104", Q2, satisfied(27, 30))
        add_ratings(engine, "96103", Q2, satisfied(24, 30))
        client = app.test_client()
        _login(client)
        page = client.get("/staff/ranking?level=commune&period=2026-Q2").get_data(as_text=True)
        assert "Khoảng tin cậy 90%" in page and "95%" not in page
        rows = _ranking_csv(client)
        # U Minh: 27 of 30 satisfied among the 60 ratings of the province (df = 59).
        low, high = _logit_interval(0.9, _se(27, 30, 60), 0.90, 59)
        assert math.isclose(float(rows["96104"]["Cận dưới KTC 90%"]), low, abs_tol=5e-5)
        assert math.isclose(float(rows["96104"]["Cận trên KTC 90%"]), high, abs_tol=5e-5)
        wider = _logit_interval(0.9, _se(27, 30, 60), 0.95, 59)
        assert wider[0] < low - 0.01  # the 95% interval would have been visibly wider
        workflow = Workflow(client)
        workflow.login("phantich")
        assert workflow.prepare("2026-Q2").status_code == 302
        release = newest_release(engine)
        assert release.confidence_level == 0.90
        snapshot = release.snapshot
        assert snapshot is not None and snapshot["release"]["confidence_level"] == 0.90
        whole = next(i for i in snapshot["indices"] if i["unit"] == "96" and i["service"] is None)
        # The province: 51 of 60 satisfied; the whole sample, SE² = p(1−p)/(n−1).
        p = 51 / 60
        se = math.sqrt(p * (1 - p) / 59)
        assert math.isclose(whole["overall"]["se"], se, rel_tol=1e-9)
        low, high = _logit_interval(p, se, 0.90, 59)
        assert math.isclose(whole["overall"]["ci_low"], low, abs_tol=1e-9)
        assert math.isclose(whole["overall"]["ci_high"], high, abs_tol=1e-9)


def test_the_export_keeps_exactly_the_ratings_of_the_chosen_quarter_in_vietnam_time(app, client) -> None:  # type: ignore[no-untyped-def]
    engine = app.extensions["hailong.engine"]
    hand_province(engine)
    # 1 April 00:00 in Vietnam is 31 March 17:00 UTC: the quarter changes then, not at UTC midnight.
    edge = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)
    end = datetime(2026, 6, 30, 17, 0, tzinfo=UTC)  # 1 July 00:00 in Vietnam
    last_q1 = add_ratings(engine, "96101", edge - timedelta(seconds=1), [5])
    first_q2 = add_ratings(engine, "96101", edge, [4, 2], step=timedelta(hours=5))
    last_q2 = add_ratings(engine, "96102", end - timedelta(seconds=1), [3])
    first_q3 = add_ratings(engine, "96102", end, [5])
    _login(client)

    def ids(period: str) -> set[str]:
        resp = client.get(f"/staff/export.csv?questionnaire=sipas-kiosk&unit=96&period={period}&excel=0")
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        text = resp.get_data().decode("utf-8-sig")
        return {r["response_id"].strip('="') for r in csv.DictReader(io.StringIO(text))}

    assert ids("2026-Q2") == {str(i) for i in first_q2 + last_q2}
    assert ids("2026-Q1") == {str(i) for i in last_q1}
    assert ids("2026-Q3") == {str(i) for i in first_q3}
    everything = client.get("/staff/export.csv?questionnaire=sipas-kiosk&unit=96&excel=0").get_data()
    assert everything.decode("utf-8-sig").count("\n") == 1 + 5  # no quarter chosen: all five


def _modules(png: bytes, scale: int = 12, border: int = 4) -> list[list[bool]]:
    """The dark/light modules of a QR image, read from the centre pixel of each module."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    size = image.width // scale - 2 * border
    return [[image.getpixel(((border + x) * scale + scale // 2, (border + y) * scale + scale // 2)) < 128
             for x in range(size)] for y in range(size)]


def test_the_receipt_qr_carries_the_receipts_address_and_the_rating_round_trips(app, client, db) -> None:  # type: ignore[no-untyped-def]
    import segno

    from survey.collect.links import make_receipt, read_receipt
    from survey.store import compact
    from survey.store.models import Channel, Response

    hand_province(app.extensions["hailong.engine"])
    dossier = "000.00.12.H12-261201-0042"
    with app.test_request_context():
        token = make_receipt("96104", "CHUNG-THUC", dossier)
    resp = client.get(f"/r/{token}/qr.png")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    # The payload: exactly the address of this receipt's survey, nothing else (the dossier code
    # only inside the encrypted token): the printed modules are those of that address's QR.
    address = f"http://localhost/r/{token}"
    expected = [[bool(v) for v in row] for row in segno.make(address, error="m").matrix]
    assert _modules(resp.data) == expected
    assert _modules(resp.data) != [[bool(v) for v in row] for row in segno.make(address + "x", error="m").matrix]
    assert dossier not in address
    # Scanning it opens the survey of that unit and service; the rating is stored once.
    path = address.removeprefix("http://localhost")
    with app.test_request_context():
        receipt = read_receipt(path.rsplit("/", 1)[1])
    assert receipt is not None and (receipt.unit_code, receipt.service_code, receipt.dossier) == (
        "96104", "CHUNG-THUC", dossier)
    page = client.get(path)
    assert page.status_code == 200 and dossier not in page.get_data(as_text=True)
    form = {"access_facilities": "5", "procedure_as_regulated": "4", "servant_conduct": "5", "result_on_time": "3",
            "feedback_channel": "4"}
    sent = client.post(path, data={**form, "submission_id": str(uuid.uuid4())})
    assert sent.status_code == 303, sent.get_data(as_text=True)[:500]
    row = db.scalar(select(Response).where(Response.channel == Channel.WEB))
    assert row is not None and row.unit.code == "96104" and row.service.code == "CHUNG-THUC"
    assert row.dossier_key is not None and dossier not in row.dossier_key
    assert compact.numbers(db, row.id) == {k: float(v) for k, v in form.items()}
    again = client.post(path, data={**form, "submission_id": str(uuid.uuid4())})
    assert again.status_code == 409 and "đã được đánh giá" in again.get_data(as_text=True)


# Cần Thơ 2022 (methodology.md §2): element points 1.2036/1.5, 1.2027/1.5, 2.1093/2.5, 2.0258/2.5,
# 1.5286/2 — as element indices 0.8024, 0.8018, 0.84372, 0.81032, 0.7643 — realised exactly as
# satisfied/valid counts: 2006/2500, 4009/5000, 21093/25000, 20258/25000, 7643/10000.
CAN_THO = {"access": (2006, 2500), "procedure": (4009, 5000), "civil_servant": (21093, 25000),
           "result": (20258, 25000), "feedback": (7643, 10000)}
CAN_THO_POINTS = {"access": 1.2036, "procedure": 1.2027, "civil_servant": 2.1093, "result": 2.0258,
                  "feedback": 1.5286}


def test_the_sipas_2017_form_carries_the_par_weights_and_reproduces_the_can_tho_2022_anchors() -> None:
    from questionnaires import load_library
    from scoring.design import SurveyDesign
    from scoring.sipas import score_sipas
    from survey.reports.sipas_tables import sipas_spec
    from survey.store.catalogue import latest

    questionnaire = load_library()[("sipas", "2017.1")]  # the SIPAS 2017 form: 22 criteria in 5 elements
    assert len(questionnaire.scored_questions()) == 22
    weights = {e.id: e.max_points for e in questionnaire.elements}
    assert weights == {"access": 1.5, "procedure": 1.5, "civil_servant": 2.5, "result": 2.5, "feedback": 2.0}
    assert sum(weights.values()) == 10  # PAR Index criterion 8.1: 10 points
    for other in ("sipas-kiosk", "sipas-commune", "sipas-land", "sipas-business"):
        assert [(e.id, e.max_points) for e in latest(other).elements] == list(weights.items()), other
    # The published element points are element index × element maximum.
    for element, (k, n) in CAN_THO.items():
        assert math.isclose(k / n * weights[element], CAN_THO_POINTS[element], abs_tol=1e-12)
    # 25,000 respondents; every criterion of an element is answered by the first n of them, the first
    # k satisfied (5), the others not (2), the rest "not applicable" (missing).
    size = 25_000
    data: dict[str, object] = {"weight": np.ones(size)}
    for question in questionnaire.scored_questions():
        k, n = CAN_THO[question.element]
        data[question.id] = np.r_[np.full(k, 5.0), np.full(n - k, 2.0), np.full(size - n, np.nan)]
    frame = pd.DataFrame(data)
    spec = sipas_spec(questionnaire)
    assert spec.overall_rule == "par_weighted"
    design = SurveyDesign(weight="weight")

    def scores(rule: str) -> dict[str, float]:
        out = score_sipas(frame, dataclasses.replace(spec, overall_rule=rule), design=design).to_frame()
        return dict(zip(out["id"], out["estimate"], strict=True))

    weighted = scores("par_weighted")
    points = sum(CAN_THO_POINTS.values())
    assert math.isclose(points, 8.07, abs_tol=1e-12)
    assert math.isclose(weighted["par_points"], 8.07, abs_tol=1e-9)
    assert math.isclose(weighted["overall"], 8.07 / 10, abs_tol=1e-9)
    plain = sum(k / n for k, n in CAN_THO.values()) / 5  # (0.8024+0.8018+0.84372+0.81032+0.7643)/5 = 0.804508
    assert math.isclose(scores("plain_mean")["overall"], plain, abs_tol=1e-9)
    assert (f"{weighted['overall'] * 100:.2f}", f"{plain * 100:.2f}") == ("80.70", "80.45")  # as published
    for element, (k, n) in CAN_THO.items():
        assert math.isclose(weighted[element], k / n, abs_tol=1e-12)
    # Neither rule gives the published overall 79.10%: the rule is a choice, stated with the number.
    assert abs(weighted["overall"] - 0.7910) > 0.01 and abs(plain - 0.7910) > 0.01
