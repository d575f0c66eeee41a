"""Issue 11 point 3 (reminders): the case reminders shown in the app are also e-mailed when
``MAIL_SERVER`` is set — one message per address of ``CASE_REMINDER_MAIL_TO``, a case going to its
unit's address or the nearest one above — through a local SMTP stand-in (the standard library's
socketserver speaking SMTP). Codes, units and due dates only: never the citizen's text. A mail
server that cannot be reached never stops the job. SQLite and PostgreSQL."""

from __future__ import annotations

import email
import socket
import socketserver
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.store import casebook
from survey.store.models import Unit


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for :mod:`smtplib`: EHLO (8BITMIME), MAIL, RCPT, DATA, QUIT."""

    def handle(self) -> None:
        self.wfile.write(b"220 stand-in ESMTP\r\n")
        sender, recipients, body, in_data = "", [], [], False
        while line := self.rfile.readline():
            if in_data:
                if line.rstrip(b"\r\n") == b".":
                    self.server.messages.append((sender, recipients, b"".join(body)))  # type: ignore[attr-defined]
                    sender, recipients, body, in_data = "", [], [], False
                    self.wfile.write(b"250 queued\r\n")
                else:
                    body.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-stand-in\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL":
                sender = line.decode().split(":", 1)[1].strip()
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"RCPT":
                recipients.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"DATA":
                in_data = True
                self.wfile.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp() -> Iterator[Any]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.daemon_threads = True
    server.messages = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _unit(db: Session, code: str) -> Unit:
    return db.scalars(select(Unit).where(Unit.code == code)).one()


def _due_cases(db: Session) -> tuple[Any, Any]:
    long_ago = datetime(2026, 8, 3, 2, tzinfo=UTC)  # due long before today: late
    ward = casebook.open_case(db, unit_id=_unit(db, "32002").id, text="Cán bộ Nguyễn Văn A gây khó dễ", now=long_ago)
    commune = casebook.open_case(db, unit_id=_unit(db, "31825").id, text="Số điện thoại 0912345678", now=long_ago)
    db.commit()
    return ward, commune


def test_reminders_are_e_mailed_to_each_units_address(app: Flask, db: Session, demo: str, smtp: Any) -> None:
    from survey.portal.jobs import TASKS

    ward, commune = _due_cases(db)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.server_address[1], MAIL_FROM="hailong@camau.gov.vn",
                      CASE_REMINDER_MAIL_TO=["96=motcua@camau.gov.vn", "32002=anxuyen@camau.gov.vn"])
    with app.app_context():
        reminded = TASKS["case_reminders"]()
    assert {ward.code, commune.code} <= set(reminded)
    by_address = {}
    for sender, recipients, raw in smtp.messages:
        message = email.message_from_bytes(raw, policy=policy.default)
        assert sender.strip("<>") == "hailong@camau.gov.vn" and len(recipients) == 1
        by_address[recipients[0]] = (str(message["Subject"]), message.get_content())
    assert set(by_address) == {"anxuyen@camau.gov.vn", "motcua@camau.gov.vn"}
    subject, body = by_address["anxuyen@camau.gov.vn"]
    assert subject == "Hài Lòng: 1 phản ánh, kiến nghị sắp đến hạn hoặc trễ hạn"
    assert ward.code in body and "Phường An Xuyên" in body and "trễ hạn" in body
    assert commune.code not in body  # another commune's case goes to the province's address
    _subject, province_body = by_address["motcua@camau.gov.vn"]
    assert commune.code in province_body and ward.code not in province_body
    for _s, text in by_address.values():  # never what the citizen wrote
        assert "Nguyễn Văn A" not in text and "0912345678" not in text
    with app.app_context():
        assert TASKS["case_reminders"]() == []  # once a day: no second e-mail
    assert len(smtp.messages) == 2


def test_an_unreachable_mail_server_never_stops_the_reminders(app: Flask, db: Session, demo: str) -> None:
    from survey.portal.jobs import TASKS

    ward, _commune = _due_cases(db)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, CASE_REMINDER_MAIL_TO=["96=motcua@camau.gov.vn"])
    with app.app_context():
        reminded = TASKS["case_reminders"]()
    assert ward.code in reminded  # marked in the app all the same
