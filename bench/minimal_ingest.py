"""The reference of ``bench/bench_ingest.py``: a minimal Flask app that validates nothing and
INSERTs one row with psycopg per request — the floor any submission API on Flask, gunicorn and
PostgreSQL pays. Served by gunicorn with the same settings as ``hailong serve``.

    BENCH_DATABASE_URL=postgresql://… gunicorn --workers 3 --threads 4 bench.minimal_ingest:app
"""

from __future__ import annotations

import os
import threading
import uuid

import psycopg
from flask import Flask, request

app = Flask(__name__)
_local = threading.local()
URL = os.environ.get("BENCH_DATABASE_URL", "")


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(URL)
    return conn


@app.post("/submit")
def submit() -> tuple[str, int]:
    body = request.get_data(as_text=True)
    conn = _connection()
    conn.execute("INSERT INTO bench_minimal (id, body) VALUES (%s, %s)", (uuid.uuid4(), body))
    conn.commit()
    return "", 201


@app.get("/healthz")
def healthz() -> str:
    return "ok"
