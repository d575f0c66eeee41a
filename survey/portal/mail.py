"""E-mail through the standard library's :mod:`smtplib`, behind the ``MAIL_*`` settings (no
extra dependency). Used by the case reminders (:func:`survey.portal.cases_public.remind_due_cases`):
the reminders shown on the staff home page are also e-mailed to each unit's address
(``CASE_REMINDER_MAIL_TO``) when ``MAIL_SERVER`` is set.

An e-mail names cases by their code, unit and due date only — never the citizen's text, name or
contact, which stay on the staff pages. A mail server that cannot be reached is logged (without
the addresses) and never stops the job: the reminders stay marked in the app.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]
    subject: str
    body: str


def configured(config: Mapping[str, Any]) -> bool:
    return bool(str(config.get("MAIL_SERVER") or "").strip())


def routes(config: Mapping[str, Any]) -> dict[str, str]:
    """``CASE_REMINDER_MAIL_TO`` as unit code → address (entries without ``=`` or ``@`` are skipped)."""
    raw = config.get("CASE_REMINDER_MAIL_TO") or []
    entries = raw.split(",") if isinstance(raw, str) else list(raw)
    out: dict[str, str] = {}
    for entry in entries:
        code, _sep, address = str(entry).partition("=")
        if _sep and "@" in address and code.strip():
            out[code.strip()] = address.strip()
    return out


def address_for(unit_codes: Sequence[str], table: Mapping[str, str]) -> str | None:
    """The address of the first of ``unit_codes`` (a unit, then the units above it) that has one."""
    return next((table[code] for code in unit_codes if code in table), None)


def send(config: Mapping[str, Any], mails: Iterable[Mail]) -> int:
    """Send ``mails`` over one SMTP connection; returns how many were accepted."""
    batch = [m for m in mails if m.to]
    if not batch or not configured(config):
        return 0
    sent = 0
    with smtplib.SMTP(str(config["MAIL_SERVER"]).strip(), int(config.get("MAIL_PORT") or 25),
                      timeout=TIMEOUT_SECONDS) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(str(config["MAIL_USERNAME"]), str(config.get("MAIL_PASSWORD") or ""))
        for mail in batch:
            message = EmailMessage()
            message["From"] = str(config.get("MAIL_FROM") or "hailong@localhost")
            message["To"] = ", ".join(mail.to)
            message["Subject"] = mail.subject
            message.set_content(mail.body)  # UTF-8: Vietnamese as written
            smtp.send_message(message)
            sent += 1
    return sent
