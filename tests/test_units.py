"""Issue 9: Viet Nam's two-tier map with its history — the official list imported (whole country,
idempotent, a diff when the list changes), ``hailong units list``, the migration of an old
database, and the demo on today's map."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from survey.admin.official import import_official, package_list
from survey.store.models import (
    Assignment,
    Desk,
    Response,
    Unit,
    UnitCorrespondence,
    UnitKind,
    UnitLevel,
)
from survey.store.units import LAST_OLD_DAY, REFORM_DAY, UnitMap, tree_on
from tests.databases import BACKENDS, fresh_database

DATA = Path(__file__).resolve().parents[1] / "survey" / "admin" / "official_units.json.gz"
UNITS_REVISION = "0006"  # survey/store/migrations/versions/0006_units_today.py
PACKAGE_KIND = {"xã": "xa", "phường": "phuong", "đặc khu": "dac_khu", "tỉnh": "tinh",
                "thành phố trung ương": "thanh_pho_tw"}


def _today_counts(session: Session) -> Counter[str]:
    tree = tree_on(session, date(2026, 1, 1))
    return Counter(u.kind.value for u in tree.units.values())


def test_whole_official_list_imports_34_provinces_and_3321_communes_idempotently(db: Session) -> None:
    import vietnam_provinces
    from vietnam_provinces import Province, Ward

    report = import_official(db)
    db.commit()
    counts = _today_counts(db)
    # Counted independently from the installed package (whatever its version).
    assert sum(counts[k] for k in ("tinh", "thanh_pho_tw")) == len(list(Province.iter_all())) == 34
    by_kind = Counter(PACKAGE_KIND[w.division_type.value] for w in Ward.iter_all())
    assert {k: counts[k] for k in ("xa", "phuong", "dac_khu")} == dict(by_kind)
    assert sum(by_kind.values()) == 3321 and by_kind["dac_khu"] == 13
    assert db.scalar(select(func.count()).select_from(Unit).where(Unit.level == UnitLevel.COMMUNE,
                                                                  Unit.valid_to.is_(None))) == 3321
    # History: 63 old provinces, their districts and communes, valid to 30 June 2025, and the table.
    old = tree_on(db, LAST_OLD_DAY)
    assert Counter(u.level for u in old.units.values())[UnitLevel.PROVINCE] == 63
    assert Counter(u.level for u in old.units.values())[UnitLevel.DISTRICT] > 600
    assert all(u.valid_to == LAST_OLD_DAY for u in old.units.values())
    assert report.correspondences == db.scalar(select(func.count()).select_from(UnitCorrespondence)) > 10_000
    # Bạc Liêu (95) and Cà Mau (96) became the new Cà Mau (96), whose 64 communes and wards came
    # from the old communes of the two.
    new96 = db.scalar(select(Unit).where(Unit.code == "96"))
    assert new96 is not None and new96.valid_from == REFORM_DAY and new96.kind == UnitKind.TINH
    sources = {db.get(Unit, o).code for (o,) in db.execute(select(UnitCorrespondence.old_unit_id)
                                                          .where(UnitCorrespondence.new_unit_id == new96.id))}
    assert sources == {"cu-95", "cu-96"}
    today = tree_on(db, date(2026, 1, 1))
    assert len(today.below(new96.id, UnitLevel.COMMUNE)) == 64
    if vietnam_provinces.__version__ == json.loads(gzip.decompress(DATA.read_bytes()))["package_version"]:
        assert Counter(PACKAGE_KIND[p.division_type.value] for p in Province.iter_all()) == \
            Counter({k: counts[k] for k in ("tinh", "thanh_pho_tw")})

    again = import_official(db)
    db.commit()
    assert not again.changed and again.added == [] and again.ended == [] and again.correspondences == 0
    assert _today_counts(db) == counts


def test_a_changed_official_list_is_reported_as_added_renamed_and_ended(db: Session) -> None:
    """The installed package's list and the shipped one differ (the shipped file is derived from a
    newer release): importing one over the other reports exactly the differences."""
    older = package_list()
    import_official(db, provinces=[96, 1], data=older, history=False)
    db.commit()
    shipped = json.loads(gzip.decompress(DATA.read_bytes()))
    before = {f"{c:05d}": n for c, n, _k, p in older["wards"] if p in (96, 1)}
    after = {f"{c:05d}": n for c, n, _k, p in shipped["wards"] if p in (96, 1)}
    report = import_official(db, provinces=[96, 1], history=False)
    db.commit()
    assert set(report.added) == set(after) - set(before)
    assert set(report.ended) == set(before) - set(after)
    assert {c for c, *_ in report.renamed if len(c) == 5} == {c for c in set(before) & set(after)
                                                             if before[c] != after[c]}
    for code in report.ended:  # ended, never deleted
        unit = db.scalar(select(Unit).where(Unit.code == code))
        assert unit is not None and unit.valid_to is not None and unit.valid_to < date.today()


def test_units_cli_imports_a_province_and_lists_what_is_valid_on_a_date(
        database_url: str, app, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from survey.commands import main

    monkeypatch.setenv("HAILONG_DATABASE_URL", database_url)
    monkeypatch.setenv("HAILONG_SECRET_KEY", "t" * 64)
    runner = CliRunner()
    first = runner.invoke(main, ["units", "import", "--province", "96"])
    assert first.exit_code == 0, first.output
    assert "vietnam-provinces" in first.output and "Added" in first.output
    second = runner.invoke(main, ["units", "import", "--province", "96"])
    assert second.exit_code == 0 and "Nothing changed" in second.output
    listed = runner.invoke(main, ["units", "list", "--province", "96", "--kind", "phuong", "--json"])
    assert listed.exit_code == 0, listed.output
    wards = json.loads(listed.output)["units"]
    assert wards and all(u["kind"] == "phuong" and u["parent"] == "96" for u in wards)
    assert "Phường Bạc Liêu" in {u["name"] for u in wards}
    then = runner.invoke(main, ["units", "list", "--province", "96", "--on", "2025-06-30", "--json"])
    names = {u["name"] for u in json.loads(then.output)["units"]}  # the old Cà Mau ('cu-96') on that day
    assert "Huyện U Minh" in names and "Thành phố Bạc Liêu" not in names and "Phường Bạc Liêu" not in names
    history = json.loads(runner.invoke(main, ["units", "list", "--kind", "huyen", "--on", "2025-06-30",
                                              "--json"]).output)["units"]
    assert "Huyện U Minh" in {u["name"] for u in history} and all(u["valid_to"] == "2025-06-30" for u in history)
    refused = runner.invoke(main, ["units", "import", "--province", "64"])  # Gia Lai's old code
    assert refused.exit_code != 0 and "not a province code" in refused.output
    bad_date = runner.invoke(main, ["units", "list", "--on", "30/6/2025"])
    assert bad_date.exit_code != 0 and "not a date" in bad_date.output


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_makes_districts_history_and_keeps_communes_and_their_responses(
        backend: str, tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    from survey.store.migrate import alembic_config, downgrade, upgrade

    with fresh_database(backend, tmp_path) as url:
        before = ScriptDirectory.from_config(alembic_config(url)).get_revision(UNITS_REVISION).down_revision
        upgrade(url, str(before))
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO unit (id, code, name, level, parent_id) VALUES "
                              "(1, '96', 'Tỉnh Cà Mau', 'province', NULL), "
                              "(2, '96-01', 'Huyện U Minh', 'district', 1), "
                              "(3, '96-01-01', 'Xã Khánh Lâm', 'commune', 2), "
                              "(4, '96-01-01-A1', 'Ấp 1', 'hamlet', 3)"))
        upgrade(url)
        with Session(engine) as session:
            units = {u.code: u for u in session.scalars(select(Unit))}
            assert units["96-01"].valid_to == LAST_OLD_DAY and units["96-01"].kind == UnitKind.HUYEN
            assert units["96-01-01"].valid_to is None and units["96-01-01"].kind == UnitKind.XA
            assert units["96-01-01"].parent_id == units["96-01"].id  # the tree as it was is kept
            today = tree_on(session, date(2026, 1, 1))
            assert today.parent[units["96-01-01"].id] == units["96"].id  # today: under its province
            assert UnitMap(session).counted_in(units["96"]) >= {units["96-01-01"].id, units["96-01-01-A1"].id}
        downgrade(url, str(before))  # and back, with the rows still there
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM unit")).scalar_one() == 4
        engine.dispose()


def test_demo_is_cà_mau_on_todays_map_with_history_and_office_hour_ratings(app, db: Session, demo: str) -> None:  # type: ignore[no-untyped-def]
    import holidays

    from survey.periods import VIETNAM

    unit_map = UnitMap(db)
    province = db.scalar(select(Unit).where(Unit.code == "96"))
    assert province is not None
    today = unit_map.tree(unit_map.now)
    communes = today.below(province.id, UnitLevel.COMMUNE)
    official = json.loads(gzip.decompress(DATA.read_bytes()))
    assert sorted(u.code for u in communes) == sorted(f"{c:05d}" for c, _n, _k, p in official["wards"] if p == 96)
    assert not today.below(province.id, UnitLevel.DISTRICT)
    old = unit_map.tree(LAST_OLD_DAY)
    assert len([u for u in old.units.values() if u.level == UnitLevel.DISTRICT]) == 16
    desks = db.scalars(select(Desk)).all()
    assert sum(1 for d in desks if d.unit.level == UnitLevel.COMMUNE) == 12
    off = holidays.country_holidays("VN", years=range(2024, 2027))
    ratings = db.execute(select(Response.submitted_at, Unit.valid_to).join(Unit, Unit.id == Response.unit_id)
                         .where(Response.questionnaire_id == "sipas-kiosk")).all()
    assert len(ratings) == 400
    for submitted, valid_to in ratings:
        here = (submitted if submitted.tzinfo else submitted.replace(tzinfo=UTC)).astimezone(VIETNAM)  # SQLite: naive UTC
        assert here.weekday() < 5 and here.date() not in off
        assert time(7, 30) <= here.time() < time(11, 30) or time(13, 30) <= here.time() < time(17, 0)
        assert date(2024, 1, 1) <= here.date() < date(unit_map.now.year, 3 * ((unit_map.now.month - 1) // 3) + 1, 1)
        # collected where the desk was on that day: an old desk before July 2025, a new one after
        assert (valid_to is not None) == (here.date() < REFORM_DAY)
    papi = db.scalars(select(Assignment).where(Assignment.questionnaire_id == "papi-household")).all()
    assert len(papi) == 2 and {a.user.username for a in papi} == {"dieutravien"}
    assert all(a.unit.level == UnitLevel.HAMLET and a.unit.valid_to is None and a.psu == a.unit.code for a in papi)


def test_the_first_screen_after_sign_in_shows_the_provinces_latest_quarter(client, demo, staff) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io

    from survey.periods import previous_quarter, quarter

    resp = staff.login()
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/")
    page = client.get("/staff/").get_data(as_text=True)
    latest = previous_quarter(quarter(datetime.now(UTC)))  # the demo runs to the last complete quarter
    year, number = latest.split("-Q")
    label = f"Quý {['I', 'II', 'III', 'IV'][int(number) - 1]}/{year}"  # "Quý III/2026", not "2026-Q3"
    assert f"Tỉnh Cà Mau, tất cả dịch vụ — {label}" in page
    body = client.get(f"/staff/results.csv?unit=96&questionnaire=sipas-kiosk&period={latest}&excel=0")
    overall = {r["Mã"]: r for r in csv.DictReader(io.StringIO(body.get_data(as_text=True)))}["overall"]
    shown = f"{float(overall['Giá trị']) * 100:.1f}".replace(".", ",")  # decimal comma in Vietnamese
    assert f'<strong class="big">{shown}%</strong>' in page
