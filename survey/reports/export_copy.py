"""The CSV export's writer process: ``python -m survey.reports.export_copy`` runs PostgreSQL's
``COPY (SELECT …) TO STDOUT (FORMAT csv)`` and writes what it sends to the file — the cells
already written by the query (:mod:`survey.reports.microdata_sql`), Python only changing each
row's line end to ``\\r\\n``.

A process of its own, started by the export job (:mod:`survey.reports.export_runner`), so that
the file is written by a process that imports psycopg and nothing else of the app (no Flask app,
pandas or SciPy: ≈ 40 MB), whatever the worker holds; its memory does not grow with the file
(``COPY`` sends a row at a time, written out a megabyte at a time).

It reads one JSON object on standard input — ``dsn`` (read there, so no password is on a command
line), ``sql``, ``delimiter``, ``path`` (the file, its header already written: the rows are
appended) and ``every`` — prints ``progress <rows>`` every ``every`` rows and ``done <rows> <peak kB>`` at
the end on standard output (the peak resident memory of this process), and exits with status 1 naming only the kind of a failure (never
its message, which may quote a cell) on standard error.
"""

from __future__ import annotations

import json
import sys
from typing import Any, BinaryIO

FLUSH_BYTES = 1 << 20
"""Bytes gathered before each write to the file."""

SESSION = ("SET max_parallel_workers_per_gather = 0", "SET work_mem = '64MB'", "SET jit = off")
"""The query's settings. No parallel workers: each would pivot all the answers again (measured:
three times the work on 2 cores). A ``work_mem`` for the pivot and the sort. No JIT: compiling
the query's few hundred cell expressions cost more than it saved (measured at a million rows:
43.5 s with, 32.7 s without)."""


def copy_rows(conn: Any, sql: str, delimiter: str, out: BinaryIO, *, every: int, report: Any) -> int:
    """Write the rows of ``sql`` to ``out`` as CSV lines ending ``\\r\\n``; returns their number.

    ``COPY TO`` sends one message a row (libpq's ``PQgetCopyData`` returns one row a call), its
    line break ``\\n`` last: the one byte changed here, so a line break inside a quoted cell stays
    as it is, as Python's ``csv`` writes it."""
    statement = f"COPY ({sql}) TO STDOUT (FORMAT csv, DELIMITER '{delimiter}')"
    buffer = bytearray()
    rows = 0
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in copy:
            buffer += row
            buffer[-1:] = b"\r\n"
            rows += 1
            if len(buffer) >= FLUSH_BYTES:
                out.write(buffer)
                buffer.clear()
            if rows % every == 0:
                report(rows)
    out.write(buffer)
    return rows


def main() -> int:
    import psycopg

    job = json.loads(sys.stdin.read())

    def report(rows: int) -> None:
        print(f"progress {rows}", flush=True)

    try:
        with psycopg.connect(job["dsn"]) as conn, open(job["path"], "ab") as out:
            conn.read_only = True
            for setting in SESSION:
                conn.execute(setting)
            rows = copy_rows(conn, job["sql"], job["delimiter"], out, every=int(job["every"]), report=report)
    except Exception as exc:  # the kind only: a message may quote a cell of the data
        print(f"export failed: {type(exc).__name__}", file=sys.stderr)
        return 1
    print(f"done {rows} {_peak_kb()}", flush=True)
    return 0


def _peak_kb() -> int:
    """This process's peak resident memory (``VmHWM``, kB; 0 where there is no ``/proc``)."""
    try:
        with open("/proc/self/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmHWM:")), 0)
    except OSError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
