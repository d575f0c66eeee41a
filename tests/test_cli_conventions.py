"""``hailong`` command-line conventions (issue 14 point 9): an unreachable database or an unreadable
input file is one clear line on standard error and exit status 2, never a traceback; ``--out -``
writes to standard output. Runs the installed ``hailong`` entry point as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HAILONG = str(Path(sys.executable).with_name("hailong"))


def _run(tmp_path: Path, *args: str, database: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HAILONG_ENV": "demo", "HOME": str(tmp_path),
           "HAILONG_DATABASE_URL": database or f"sqlite:///{tmp_path / 'db.sqlite'}"}
    return subprocess.run([HAILONG, *args], capture_output=True, text=True, timeout=120, env=env, check=False)


def test_an_unreachable_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for args in (("release", "list"), ("init-db",)):
        done = _run(tmp_path, *args, database="postgresql+psycopg://nobody@127.0.0.1:1/none")
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "cơ sở dữ liệu" in lines[0] and "database cannot be reached" in lines[0]
        assert "Traceback" not in done.stderr and "nobody" not in done.stderr


def test_an_unreadable_input_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    binary = tmp_path / "ratings.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81 not text")
    done = _run(tmp_path, "score", str(binary), "--items", "a", "--out", "-")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "không đọc được tệp" in done.stderr
    missing = _run(tmp_path, "questionnaires", "import-xlsform", str(tmp_path / "absent.xlsx"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_out_dash_writes_to_standard_output(tmp_path: Path) -> None:
    source = tmp_path / "ratings.csv"
    source.write_text("a\n1\n2\n3\n4\n5\n", encoding="utf-8")
    done = _run(tmp_path, "score", str(source), "--items", "a", "--out", "-")
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()[:2]
    assert header.startswith("domain,item,statistic,n,estimate") and row.startswith("ALL,a,mean,5,3.0,")
