"""The foundation: configuration, migrations, CLI, package boundaries, kiosk → store path."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session

from questionnaires import load_library
from survey import create_app
from survey.collect.responses import store_response
from survey.store.catalogue import VersionConflict, latest, publish
from survey.store.migrate import downgrade, upgrade
from survey.store.models import (
    AnswerValue,
    Base,
    Channel,
    QuestionnaireVersion,
    Response,
    Service,
    Unit,
)
from tests.databases import BACKENDS, fresh_database

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_upgrade_empty_database_to_head_and_back_down(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        upgrade(url)
        engine = create_engine(url)
        tables = set(inspect(engine).get_table_names())
        assert {"unit", "service", "desk", "questionnaire_version", "response", "answer", "app_user"} <= tables
        with engine.connect() as conn:  # the migrations build exactly what the models describe
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(url)  # and up again: the downgrade left nothing behind that blocks it
        assert "response" in set(inspect(engine).get_table_names())
        engine.dispose()


def test_production_refuses_to_start_without_secret_key(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="HAILONG_SECRET_KEY"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite", "ENV": "production"})


def test_demo_generates_its_secret_key_once_and_keeps_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(tmp_path))
    first = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite", "ENV": "demo"})
    second = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite", "ENV": "demo"})
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_overrides_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("HAILONG_SECRET_KEY", "from-env-" + "k" * 32)
    monkeypatch.setenv("HAILONG_DEFAULT_LANGUAGE", "en")
    monkeypatch.setenv("HAILONG_KIOSK_IDLE_SECONDS", "45")
    (tmp_path / "hailong.cfg").write_text("KIOSK_RETURN_SECONDS = 3\n", encoding="utf-8")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env-" + "k" * 32
    assert app.config["DEFAULT_LANGUAGE"] == "en"
    assert app.config["KIOSK_IDLE_SECONDS"] == 45
    assert app.config["KIOSK_RETURN_SECONDS"] == 3
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'hailong.sqlite'}"


def test_sqlite_has_foreign_keys_and_wal(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/p.sqlite", "SECRET_KEY": "x"})
    engine = app.extensions["hailong.engine"]
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


# That scoring, questionnaires and exports import no web or database library is a contract of
# `lint-imports` (pyproject.toml), which `manage.py test` runs over every module, not a test here.


def test_cli_help_lists_subcommands_and_version() -> None:
    hailong = Path(sys.executable).parent / "hailong"
    help_text = subprocess.run([hailong, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("init-db", "demo", "serve", "create-user", "score", "questionnaires"):
        assert command in help_text
    version = subprocess.run([hailong, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("hailong ")


def test_unsafe_production_config_gives_a_clear_cli_error(tmp_path: Path) -> None:
    hailong = Path(sys.executable).parent / "hailong"
    env = {"PATH": str(Path(sys.executable).parent), "HAILONG_INSTANCE_PATH": str(tmp_path)}
    out = subprocess.run([hailong, "init-db"], capture_output=True, text=True, env=env)
    assert out.returncode == 1
    assert "HAILONG_SECRET_KEY is not set" in out.stderr
    assert "Traceback" not in out.stderr


def _one(db: Session, model: type, code: str):  # type: ignore[no-untyped-def]
    return db.scalar(select(model).where(model.code == code))


def test_kiosk_start_lists_the_services_of_the_desk(client, demo) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/kiosk/32002-MC").get_data(as_text=True)
    assert "Chứng thực, xác nhận" in page
    assert "Thủ tục hành chính cấp xã" in page
    assert "Cấp giấy phép xây dựng" not in page  # a commune desk does not issue construction permits
    assert client.get("/kiosk/unknown-desk").status_code == 404


ALL_FIVE = {
    "access_facilities": "5",
    "procedure_as_regulated": "4",
    "servant_conduct": "3",
    "result_on_time": "2",
    "feedback_channel": "1",
}


def test_kiosk_rating_is_stored_with_its_answers(client, db, demo, kiosk) -> None:  # type: ignore[no-untyped-def]
    answers = {**ALL_FIVE, "comment": "Cán bộ nhiệt tình"}
    resp = kiosk.submit("32002-MC", "CHUNG-THUC", answers)
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("/kiosk/32002-MC/thanks")
    stored = db.scalars(select(Response).where(Response.channel == Channel.KIOSK, Response.desk_id.is_not(None))
                        .order_by(Response.received_at.desc())).first()
    assert stored is not None
    assert stored.unit.code == "32002" and stored.service.code == "CHUNG-THUC"
    values = {a.question_id: (a.value_num, a.value_text) for a in db.scalars(select(AnswerValue).where(AnswerValue.response_id == stored.id))}
    assert values["access_facilities"] == (5.0, None)
    assert values["feedback_channel"] == (1.0, None)
    assert values["comment"] == (None, "Cán bộ nhiệt tình")
    thanks = client.get(resp.headers["Location"])
    assert thanks.headers["Cache-Control"].startswith("no-store")
    assert 'data-return-seconds="1"' in thanks.get_data(as_text=True)


def test_rejected_kiosk_form_keeps_every_answer_and_explains_in_vietnamese(client, db, demo, kiosk) -> None:  # type: ignore[no-untyped-def]
    count = len(db.scalars(select(Response.id)).all())
    partial = {"access_facilities": "5", "servant_conduct": "2", "comment": "Chờ lâu"}
    resp = kiosk.submit("32002-MC", "CHUNG-THUC", partial)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Vui lòng trả lời câu hỏi này." in page
    assert checked_values(page, "access_facilities") == ["5"]
    assert checked_values(page, "servant_conduct") == ["2"]
    assert checked_values(page, "result_on_time") == []
    assert "Chờ lâu" in page
    assert len(db.scalars(select(Response.id)).all()) == count


def test_kiosk_speaks_english_when_asked(client, demo, kiosk) -> None:  # type: ignore[no-untyped-def]
    resp = kiosk.submit("32002-MC", "CHUNG-THUC", {"access_facilities": "9"}, lang="en")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Please answer this question." in page
    assert "Please choose one of the answers shown." in page
    vi = kiosk.submit("32002-MC", "CHUNG-THUC", {"access_facilities": "9"}).get_data(as_text=True)
    assert "Vui lòng chọn một trong các câu trả lời có sẵn." in vi


def test_same_response_id_is_stored_once_and_other_content_is_a_conflict(app, db, demo) -> None:  # type: ignore[no-untyped-def]
    q = latest("sipas-kiosk")
    unit = _one(db, Unit, "cu-967")
    service = _one(db, Service, "GPXD")
    rid = uuid.uuid4()
    args = dict(secret="s", questionnaire=q, unit_id=unit.id, service_id=service.id, channel=Channel.WEB)
    answers = {k: int(v) for k, v in ALL_FIVE.items()}
    assert store_response(db, answers=answers, response_id=rid, **args).outcome == "created"
    assert store_response(db, answers=answers, response_id=rid, **args).outcome == "duplicate"
    changed = {**answers, "access_facilities": 1}
    assert store_response(db, answers=changed, response_id=rid, **args).outcome == "conflict"
    assert len(db.scalars(select(Response).where(Response.id == rid)).all()) == 1
    stored = {a.question_id: a.value_num for a in db.scalars(select(AnswerValue).where(AnswerValue.response_id == rid))}
    assert stored["access_facilities"] == 5.0


def test_published_questionnaire_version_never_changes(db, demo) -> None:  # type: ignore[no-untyped-def]
    q = latest("sipas-kiosk")
    row = publish(db, q)
    assert row.content_hash == q.content_hash
    assert publish(db, q).id == row.id  # idempotent for identical content
    row.definition = {**row.definition, "title": {"vi": "Đã sửa"}}
    with pytest.raises(ValueError, match="published and cannot change"):
        db.flush()
    db.rollback()
    altered = type(q)(**{**q.__dict__, "title": type(q.title)({"vi": "Khác"})})
    with pytest.raises(VersionConflict):
        publish(db, altered)
    db.rollback()
    assert db.scalar(select(QuestionnaireVersion.content_hash).where(QuestionnaireVersion.id == row.id)) == q.content_hash


def test_content_hash_follows_content_not_key_order() -> None:
    q = load_library()[("sipas-kiosk", latest("sipas-kiosk").version)]
    reordered = type(q.title)(dict(reversed(list(q.title.values.items()))))
    assert type(q)(**{**q.__dict__, "title": reordered}).content_hash == q.content_hash
    changed = type(q.title)({**q.title.values, "en": "Another title"})
    assert type(q)(**{**q.__dict__, "title": changed}).content_hash != q.content_hash


def checked_values(page: str, name: str) -> list[str]:
    """Values of the checked inputs named ``name`` in an HTML page."""
    out = []
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and re.search(r"\bchecked\b", tag):
            out.append(re.search(r'value="([^"]*)"', tag).group(1))  # type: ignore[union-attr]
    return out


def test_staff_pages_need_a_signed_in_user(client, demo, staff) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/staff/results?unit=96&service=CHUNG-THUC")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    wrong = staff.login(password="wrong")
    assert wrong.status_code == 400
    assert "Sai tên đăng nhập hoặc mật khẩu." in wrong.get_data(as_text=True)
    ok = staff.login()
    assert ok.status_code == 302
    assert client.get("/staff/").status_code == 200


def test_sign_in_never_redirects_off_site(client, demo) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/auth/login?next=https://evil.example/", data={"username": "canbo", "password": "hailong-demo"})
    assert resp.headers["Location"] == "/staff/"


def test_staff_results_are_computed_from_the_stored_answers(app, client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    import math

    from survey.reports.sipas_tables import sipas_report, subtree_ids

    q = latest("sipas-kiosk")
    unit, service = _one(db, Unit, "96"), _one(db, Service, "CHUNG-THUC")  # the province, old units included
    with app.test_request_context("/?lang=vi"):
        report = sipas_report(db, q, unit, service, language="vi")
    rows = {(r["_kind"], r["id"]): r for r in report.table.rows}
    units = subtree_ids(db, unit)
    # Independent count: answers to one criterion in the province and every unit that became part of it.
    values = db.execute(
        select(AnswerValue.value_num).join(Response, Response.id == AnswerValue.response_id).where(
            Response.unit_id.in_(units), Response.service_id == service.id, AnswerValue.question_id == "servant_conduct")
    ).scalars().all()
    satisfied = sum(v >= 4 for v in values) / len(values)
    crit = rows[("criterion", "servant_conduct")]
    assert crit["n"] == len(values)
    assert math.isclose(crit["estimate"], satisfied, rel_tol=1e-12)
    assert crit["ci_low"] < satisfied < crit["ci_high"]
    element_rows = [r for r in report.table.rows if r["_kind"] == "element"]
    assert [r["id"] for r in element_rows] == ["access", "procedure", "civil_servant", "result", "feedback"]
    overall = rows[("overall", "overall")]
    weights = {"access": 1.5, "procedure": 1.5, "civil_servant": 2.5, "result": 2.5, "feedback": 2.0}
    expected = sum(rows[("element", k)]["estimate"] * w for k, w in weights.items()) / 10
    assert math.isclose(overall["estimate"], expected, rel_tol=1e-12)
    assert math.isclose(rows[("par_points", "par_points")]["estimate"], expected * 10, rel_tol=1e-12)

    staff.login()
    resp = client.get("/staff/results.csv?unit=96&service=CHUNG-THUC&questionnaire=sipas-kiosk")
    assert resp.status_code == 200
    body = resp.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    text_ = body.decode("utf-8-sig")
    assert text_.splitlines()[0].startswith("Loại,Mã,Nội dung,Số ý kiến hợp lệ (n)")
    assert "Công chức giải quyết TTHC" in text_
    assert "Cán bộ" not in text_ and "comment" not in text_  # free-text answers are never exported


def test_results_page_in_english(client, demo, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()
    page = client.get("/staff/results?unit=96&service=GPXD&questionnaire=sipas-kiosk&lang=en").get_data(as_text=True)
    assert "Overall satisfaction index" in page and "Access to the service" in page
    empty = client.get("/staff/results?unit=32002&service=GPXD&questionnaire=sipas-kiosk").get_data(as_text=True)
    assert "No responses yet for this unit and service." in empty


def test_unknown_questionnaire_is_a_404_on_the_page_and_the_download(client, demo, staff) -> None:  # type: ignore[no-untyped-def]
    staff.login()
    for path in ("/staff/results", "/staff/results.csv"):
        resp = client.get(f"{path}?unit=96&service=GPXD&questionnaire=no-such-form")
        assert resp.status_code == 404
        assert "Không tìm thấy phiếu khảo sát." in resp.get_data(as_text=True)


def test_latest_version_orders_numbers_not_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    import survey.store.catalogue as catalogue

    q = latest("sipas-kiosk")
    library = {(q.id, v): type(q)(**{**q.__dict__, "version": v}) for v in ("2025.2", "2025.10", "2017.1")}
    monkeypatch.setattr(catalogue, "load_library", lambda: library)
    assert catalogue.latest("sipas-kiosk").version == "2025.10"
