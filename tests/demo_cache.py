"""The demo data for the tests, loaded once per test database and copied back after that.

``load_demo`` takes seconds (the official units, the library, hundreds of generated ratings with
their answers); more than a hundred tests start from it. The first test on a database loads it and
keeps a copy of every table beside it (an attached SQLite file, a PostgreSQL schema); a later test
with the same demo arguments — after the ``app`` fixture has emptied the tables — gets the rows
copied back, with the same ids and, on PostgreSQL, the sequences set past them. The copy is keyed on
the database, the secret key (the dossier-code HMACs depend on it) and the arguments, so it is what
``load_demo`` would have stored: it is deterministic for a seed and a day.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, text

from survey.store.models import Base

_copies: dict[tuple[str, str, tuple[tuple[str, Any], ...]], tuple[str, str]] = {}
_folder = Path(tempfile.mkdtemp(prefix="hailong-demo-copies-"))


def cached_demo(app: Flask, **arguments: Any) -> str:
    """``survey.demo.load_demo(engine, secret=…, **arguments)`` for ``app``'s (emptied) database."""
    from survey.demo import load_demo

    engine: Engine = app.extensions["hailong.engine"]
    secret = str(app.config["SECRET_KEY"])
    key = (engine.url.render_as_string(hide_password=False), secret, tuple(sorted(arguments.items())))
    tables = [t.name for t in Base.metadata.sorted_tables]
    if key in _copies:
        where, result = _copies[key]
        _restore(engine, where, tables)
        return result
    result = load_demo(engine, secret=secret, **arguments)
    where = f"demo_copy_{len(_copies)}"
    _keep(engine, where, tables)
    _copies[key] = (where, result)
    return result


def _keep(engine: Engine, where: str, tables: list[str]) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{where}"'))
            for name in tables:
                conn.execute(text(f'CREATE TABLE "{where}"."{name}" AS TABLE public."{name}"'))
        return
    raw = engine.raw_connection()
    try:
        sqlite = raw.driver_connection
        assert sqlite is not None
        sqlite.commit()
        sqlite.execute("ATTACH DATABASE ? AS copy", (str(_folder / f"{where}.sqlite"),))
        for name in tables:
            sqlite.execute(f'CREATE TABLE copy."{name}" AS SELECT * FROM main."{name}"')  # noqa: S608 - our table names
        sqlite.commit()
        sqlite.execute("DETACH DATABASE copy")
    finally:
        raw.close()


def _restore(engine: Engine, where: str, tables: list[str]) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # the unit tree refers to itself
            for name in tables:
                conn.execute(text(f'INSERT INTO public."{name}" SELECT * FROM "{where}"."{name}"'))  # noqa: S608
            serials = conn.execute(text(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND (column_default LIKE 'nextval%' OR is_identity = 'YES')")).all()
            for table, column in serials:
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence(:t, :c), coalesce(max(\"{column}\"), 0) + 1, false) "  # noqa: S608
                    f'FROM public."{table}"'), {"t": f'public."{table}"', "c": column})
        return
    raw = engine.raw_connection()
    try:
        sqlite = raw.driver_connection
        assert sqlite is not None
        sqlite.commit()
        sqlite.execute("ATTACH DATABASE ? AS copy", (str(_folder / f"{where}.sqlite"),))
        sqlite.execute("BEGIN")
        sqlite.execute("PRAGMA defer_foreign_keys=ON")
        for name in tables:
            sqlite.execute(f'INSERT INTO main."{name}" SELECT * FROM copy."{name}"')  # noqa: S608 - our table names
        sqlite.commit()
        sqlite.execute("DETACH DATABASE copy")
    finally:
        raw.close()
