"""The analysts' export files prepared in the background (revision e15a, issue 15 point 4).

An :class:`ExportJob` is one microdata export asked for on the staff page ``/staff/export/jobs``:
what was chosen (questionnaire, unit, service, quarter, codes or texts, format, language), who
asked, how far the job has come (rows written of the rows there are), and the file it wrote in
the instance folder's ``exports/`` — kept for ``EXPORT_KEEP_HOURS`` hours after it is done, then
removed (the row stays, ``expired``, as the trace of what was exported). The file has no
personal data (:mod:`survey.reports.microdata_frame`); its name holds a random token.

Imported by :mod:`survey.store` so that ``Base.metadata`` has the table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from survey.store.models import Base, utcnow

QUEUED, RUNNING, DONE, FAILED, EXPIRED = "queued", "running", "done", "failed", "expired"
STATUSES = (QUEUED, RUNNING, DONE, FAILED, EXPIRED)


class ExportJob(Base):
    __tablename__ = "export_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))  # in the file's name: not guessable from the id
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="SET NULL"))
    questionnaire_id: Mapped[str] = mapped_column(String(80))
    fmt: Mapped[str] = mapped_column(String(12))  # the renderer's name: csv-excel, csv, csv-vi, xlsx, sav, dta
    choice: Mapped[dict[str, Any]] = mapped_column(JSON)  # unit, service, period, values, language
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int | None] = mapped_column(BigInteger)  # bytes of the file
    download_name: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    @property
    def progress(self) -> int:
        """Percent done (100 once the file is written)."""
        if self.status in (DONE, EXPIRED):
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)

    @property
    def file_name(self) -> str:
        """The file's name in the instance folder's ``exports/``."""
        return f"{self.id}-{self.token}.{self.suffix}"

    @property
    def suffix(self) -> str:
        return self.fmt.split("-")[0]


__all__ = ["DONE", "EXPIRED", "FAILED", "QUEUED", "RUNNING", "STATUSES", "ExportJob"]
