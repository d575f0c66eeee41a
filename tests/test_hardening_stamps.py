"""Issue 12 point 3, left over at stop 16: ratings stored before the ``submitted_at`` window existed
can be stamped into any quarter. ``hailong flag-stamps`` holds every stored response stamped
outside the window of its own receipt time for review (flag ``stamp_window``), so it stops
counting until staff approve it; rows inside the window are untouched. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select, update

from survey.store.casework import ResponseFlag
from survey.store.models import Response, ReviewStatus


def _counted(app, db) -> int:  # type: ignore[no-untyped-def]
    from survey.reports.frames import approved_filter

    with app.app_context():
        return int(db.scalar(select(func.count()).select_from(Response).where(approved_filter(db))) or 0)


def test_old_rows_stamped_outside_their_window_are_held_for_review(app, db, demo, monkeypatch, tmp_path, database_url) -> None:  # type: ignore[no-untyped-def]
    from survey.commands import main

    ids = list(db.scalars(select(Response.id).order_by(Response.id).limit(4)))
    late, ahead, fine, edge = ids
    received = {i: db.get(Response, i).received_at for i in ids}
    moves = {late: -timedelta(days=400), ahead: timedelta(days=1), fine: -timedelta(days=30),
             edge: -timedelta(days=90) + timedelta(minutes=1)}  # LATE_UPLOAD_DAYS is 90: just inside
    for response_id, shift in moves.items():
        db.execute(update(Response).where(Response.id == response_id).values(
            submitted_at=received[response_id] + shift, review_status=ReviewStatus.APPROVED))
    db.commit()
    before = _counted(app, db)
    for key, value in {"DATABASE_URL": database_url, "SECRET_KEY": "k" * 40, "ENV": "demo"}.items():
        monkeypatch.setenv(f"HAILONG_{key}", value)
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("HAILONG_DOSSIER_KEY_FILE", app.config["DOSSIER_KEY_FILE"])
    first = CliRunner().invoke(main, ["flag-stamps"])
    assert first.exit_code == 0, first.output
    assert "2 flagged stamp_window for review now, 0 flagged before" in first.output
    db.expire_all()
    flagged = set(db.scalars(select(ResponseFlag.response_id).where(ResponseFlag.code == "stamp_window")))
    assert flagged == {late, ahead}
    for response_id in (late, ahead):
        row = db.get(Response, response_id)
        assert row.review_status == ReviewStatus.RECEIVED and row.flag == "stamp_window"
    assert db.get(Response, fine).review_status == ReviewStatus.APPROVED and db.get(Response, edge).flag is None
    assert _counted(app, db) == before - 2  # held back until staff decide
    again = CliRunner().invoke(main, ["flag-stamps"])
    assert again.exit_code == 0 and "0 flagged stamp_window for review now, 2 flagged before" in again.output
    db.expire_all()
    assert _counted(app, db) == before - 2
    from survey.collect.quality import flag_label

    with app.test_request_context():  # the review queue names the reason for staff, in Vietnamese
        assert "ngoài khoảng hợp lý" in flag_label("stamp_window")
