#!/usr/bin/env python3
"""Set up and run Hài Lòng with nothing but Python 3.11 and pip.

    python3 manage.py start   # virtualenv + install + database + demo data, then serve on :8000
    python3 manage.py test    # virtualenv + test tools + Chromium, then ruff, mypy and pytest

Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import venv
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"


def run(*cmd: str | Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, check=check).returncode  # noqa: S603


TEST_WORKERS = int(os.environ.get("HAILONG_TEST_WORKERS") or (os.cpu_count() or 1) + 1)


def ensure_venv(extras: str) -> None:
    if not (BIN / "python").exists():
        print(f"Creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", target)
    stamp.write_text(digest)


def _pango_missing() -> bool:
    import ctypes.util

    return ctypes.util.find_library("pangoft2-1.0") is None


# What the test suite needs from Debian: (what for, is it there?, packages, with recommends?).
DEBIAN_NEEDS: list[tuple[str, Callable[[], bool], list[str], bool]] = [
    ("the browser tests (Playwright drives Debian's Chromium; no browser download)",
     lambda: bool(shutil.which("chromium")) or Path("/usr/bin/chromium").exists(), ["chromium", "fonts-noto-core"], True),
    ("the test that opens the CSV for Excel in LibreOffice Calc (headless)",
     lambda: bool(shutil.which("soffice")), ["libreoffice-calc-nogui"], False),
    ("the task-queue tests (they start their own redis-server on a free port)",
     lambda: bool(shutil.which("redis-server")), ["redis-server"], False),
    ("the PDF report tests (pdftoppm, pdftotext)", lambda: bool(shutil.which("pdftotext")), ["poppler-utils"], False),
    ("WeasyPrint's PDF rendering (Pango)", lambda: not _pango_missing(), ["libpango-1.0-0", "libpangoft2-1.0-0"], False),
]


def ensure_debian() -> None:
    """Install what DEBIAN_NEEDS lists and this machine lacks: one `apt-get update`, at most two installs."""
    missing = [(why, packages, recommends) for why, present, packages, recommends in DEBIAN_NEEDS if not present()]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        names = " ".join(p for _, packages, _ in missing for p in packages)
        reasons = "; ".join(why for why, _, _ in missing)
        sys.exit(f"The tests need Debian's {names} ({reasons}): run `apt-get install {names}` as root.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    for recommends in (True, False):
        packages = [p for _, group, with_recommends in missing if with_recommends is recommends for p in group]
        if packages:
            run("apt-get", "install", "-y", "-qq", *([] if recommends else ["--no-install-recommends"]), *packages, env=env)


def ensure_postgres() -> None:
    """Start the local PostgreSQL cluster if it is installed but not running."""
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return
    except OSError:
        pass
    clusters = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") and clusters.exists():
        for version in sorted(p.name for p in clusters.iterdir()):
            run("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start", check=False)


def start(args: argparse.Namespace) -> None:
    ensure_venv("")
    env = {**os.environ, "HAILONG_ENV": os.environ.get("HAILONG_ENV", "demo")}
    run(BIN / "hailong", "init-db", env=env)
    run(BIN / "hailong", "demo", env=env)
    serve = [str(BIN / "hailong"), "serve", "--host", args.host, "--port", str(args.port)]
    os.execve(serve[0], serve, env)  # noqa: S606 - replace this process with the server


def test(args: argparse.Namespace) -> None:
    ensure_venv("test")
    ensure_debian()
    ensure_postgres()
    failed = []
    for name, cmd in [
        ("ruff", [BIN / "ruff", "check", "."]),
        ("mypy --strict (pure packages)", [BIN / "mypy", "--strict", "scoring", "questionnaires", "exports"]),
        ("mypy (web app)", [BIN / "mypy", "survey"]),
        ("lint-imports (the rooms' direction)", [BIN / "lint-imports"]),
        # xdist over the machine's cores (3 workers on 2 cores: much of the suite waits on databases,
        # servers and browsers); work stealing evens out the long browser and release tests.
        ("pytest", [BIN / "pytest", "-n", str(TEST_WORKERS), "--dist", "worksteal",
                    "--cov", "--cov-report=term:skip-covered", "--durations=30", *args.pytest_args]),
    ]:
        if run(*cmd, check=False) != 0:
            failed.append(name)
    if failed:
        sys.exit(f"FAILED: {', '.join(failed)}")
    print("All checks passed.")


def i18n(args: argparse.Namespace) -> None:
    """Extract messages, merge them into the Vietnamese catalogue, compile; list what is missing."""
    ensure_venv("test")
    import fcntl

    # One run at a time: two concurrent runs (two terminals, two sessions) once left an empty catalogue.
    with open(ROOT / "survey" / "translations" / ".i18n.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _i18n_locked()


def _i18n_locked() -> None:
    run(BIN / "pybabel", "extract", "-F", "survey/babel.cfg", "-k", "_l", "-k", "lazy_gettext",
        "-o", "survey/translations/messages.pot", "--no-location", "--sort-output", "--project=hailong", ".")
    run(BIN / "pybabel", "update", "-i", "survey/translations/messages.pot", "-d", "survey/translations",
        "-l", "vi", "--no-fuzzy-matching", "--ignore-obsolete")
    run(BIN / "pybabel", "compile", "-d", "survey/translations", "-l", "vi", "--statistics")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="set up, load demo data, and serve on SQLite")
    p_start.add_argument("--host", default="127.0.0.1")
    p_start.add_argument("--port", type=int, default=8000)
    p_start.set_defaults(func=start)
    p_test = sub.add_parser("test", help="set up and run the whole test suite")
    p_test.add_argument("pytest_args", nargs="*", help="extra arguments for pytest")
    p_test.set_defaults(func=test)
    sub.add_parser("i18n", help="update the Vietnamese message catalogue").set_defaults(func=i18n)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
