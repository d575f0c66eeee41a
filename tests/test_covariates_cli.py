"""``hailong covariates import|template`` as a user runs it (the installed entry point, SQLite):
a file with bad rows stores nothing and names each row in Vietnamese (exit 1); a good one is
stored and said so; the template lists the documented covariates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from survey.store.models import Unit, UnitCovariate, UnitLevel

HAILONG = str(Path(sys.executable).with_name("hailong"))


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HAILONG_ENV": "demo", "HOME": str(tmp_path),
           "HAILONG_INSTANCE_PATH": str(tmp_path / "instance"),
           "HAILONG_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    return subprocess.run([HAILONG, *args], capture_output=True, text=True, timeout=120, env=env, check=False)


def test_covariates_import_from_the_command_line(tmp_path: Path) -> None:
    from survey.store.migrate import upgrade

    upgrade(f"sqlite:///{tmp_path / 'db.sqlite'}")  # as `hailong init-db` does
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with Session(engine) as session:
        province = Unit(code="96", name="Tỉnh Cà Mau", level=UnitLevel.PROVINCE)
        session.add_all([province, Unit(code="96001", name="Phường An Xuyên", level=UnitLevel.COMMUNE,
                                        parent=province, official_code="96001")])
        session.commit()
    bad = tmp_path / "bad.csv"
    bad.write_text("Mã đơn vị,population,Nguồn\n96001,52000,GSO\n99999,1,GSO\n", encoding="utf-8")
    done = _run(tmp_path, "covariates", "import", str(bad))
    assert done.returncode == 1, done.stderr
    assert "Dòng 3: không có đơn vị 99999." in done.stderr
    good = tmp_path / "good.xlsx"
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Mã đơn vị", "population", "area_km2", "Năm"])
    book.active.append([96001, 52000, 38.5, 2025])  # a code typed as a number
    book.save(good)
    done = _run(tmp_path, "covariates", "import", str(good), "--source", "Nghị quyết 1655/NQ-UBTVQH15")
    assert done.returncode == 0, done.stderr
    assert "2 giá trị của 1 đơn vị" in done.stdout
    with Session(engine) as session:
        stored = {(c.name, c.value, c.year, c.source) for c in session.scalars(select(UnitCovariate))}
    assert stored == {("population", 52000.0, 2025, "Nghị quyết 1655/NQ-UBTVQH15"),
                      ("area_km2", 38.5, 2025, "Nghị quyết 1655/NQ-UBTVQH15")}
    engine.dispose()
    from click.testing import CliRunner

    from survey.admin.covariates_commands import covariates_group

    template = CliRunner().invoke(covariates_group, ["template"])
    assert template.exit_code == 0
    assert template.output.lstrip("\ufeff").startswith("Mã đơn vị,Tên đơn vị,population,area_km2,poverty_rate,distance_km,Năm,Nguồn")
