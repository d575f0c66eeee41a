"""Benchmark: the searchable unit picker's server side after a whole-country import — the official
list (34 provinces, 3,321 commune-level units and the 2025 history, ~14,000 units) in a fresh
SQLite database, then :func:`survey.store.units.search_units` for typical queries (whole country,
one province's area, levels) and :func:`survey.store.units.resolve_unit` for a typed name.

    .venv/bin/python bench/bench_unit_search.py [--repeat 20]

Prints CPU milliseconds per call (``time.process_time``: the figures hold on a busy machine) and
the HTML weight of a plain <select> of every commune against one page of 20 answers. Not a test:
run it by hand.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from survey.admin.official import import_official
    from survey.store.migrate import upgrade
    from survey.store.models import Unit, UnitLevel
    from survey.store.units import resolve_unit, search_units

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        upgrade(url)
        engine = create_engine(url)
        with Session(engine) as session:
            started = time.process_time()
            import_official(session)
            session.commit()
            print(f"import of the whole official list: {time.process_time() - started:.1f} s CPU")
            total = session.scalar(select(func.count()).select_from(Unit)) or 0
            communes = session.scalars(select(Unit).where(Unit.level == UnitLevel.COMMUNE,
                                                          Unit.valid_to.is_(None))).all()
            province = session.scalar(select(Unit.id).where(Unit.code == "96"))
            print(f"units stored: {total:,}; commune-level units today: {len(communes):,}")
            cases = [("whole country, 'thoi binh'", dict(query="thoi binh")),
                     ("whole country, communes, 'tan'", dict(query="tan", levels=[UnitLevel.COMMUNE])),
                     ("Cà Mau's area, 'an xuyen'", dict(query="an xuyen", within=province)),
                     ("a code, '32065'", dict(query="32065"))]
            for label, kwargs in cases:
                started = time.process_time()
                for _ in range(args.repeat):
                    found = search_units(session, **kwargs)  # type: ignore[arg-type]
                ms = (time.process_time() - started) / args.repeat * 1000
                print(f"search_units {label}: {ms:.1f} ms CPU, {len(found)} answers")
            started = time.process_time()
            for _ in range(args.repeat):
                resolve_unit(session, "xa thoi binh")
            print(f"resolve_unit by name: {(time.process_time() - started) / args.repeat * 1000:.1f} ms CPU")
            select_html = "".join(f'<option value="{u.code}">{u.name} ({u.code})</option>' for u in communes)
            page_html = "".join(f'<li role="option">{f.label()} — {f.parent}</li>'
                                for f in search_units(session, "tan", levels=[UnitLevel.COMMUNE]))
            print(f"a <select> of every commune: {len(select_html.encode()):,} bytes per form; one page of "
                  f"answers: {len(page_html.encode()):,} bytes (ratio {len(select_html) / max(len(page_html), 1):.0f}×)")


if __name__ == "__main__":
    main()
