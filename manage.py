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
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"


def run(*cmd: str | Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, check=check).returncode  # noqa: S603


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


def ensure_chromium() -> None:
    """Debian's Chromium for the browser tests (Playwright drives it; no browser download)."""
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit("The browser tests need Debian's chromium: run `apt-get install chromium` as root.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-core", env=env)


def ensure_libreoffice() -> None:
    """Debian's LibreOffice Calc (headless): the test that opens the CSV for Excel as a spreadsheet does."""
    if shutil.which("soffice"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit("The spreadsheet test needs LibreOffice: run `apt-get install libreoffice-calc-nogui` as root.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", "--no-install-recommends", "libreoffice-calc-nogui", env=env)


def ensure_redis() -> None:
    """Debian's redis-server: the queue tests start their own on a free port (RedisHuey)."""
    if shutil.which("redis-server"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit("The task-queue tests need Debian's redis-server: run `apt-get install redis-server` as root.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", "--no-install-recommends", "redis-server", env=env)


def ensure_pdf_tools() -> None:
    """poppler-utils (pdftoppm, pdftotext) for the PDF report tests, and Pango for WeasyPrint."""
    import ctypes.util

    missing = [] if shutil.which("pdftotext") else ["poppler-utils"]
    if ctypes.util.find_library("pangoft2-1.0") is None:
        missing += ["libpango-1.0-0", "libpangoft2-1.0-0"]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(f"The PDF tests need Debian's {' '.join(missing)}: run `apt-get install {' '.join(missing)}` as root.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing, env=env)


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
    ensure_chromium()
    ensure_libreoffice()
    ensure_redis()
    ensure_pdf_tools()
    ensure_postgres()
    failed = []
    for name, cmd in [
        ("ruff", [BIN / "ruff", "check", "."]),
        ("mypy --strict (pure packages)", [BIN / "mypy", "--strict", "scoring", "questionnaires", "exports"]),
        ("mypy (web app)", [BIN / "mypy", "survey"]),
        ("lint-imports (the rooms' direction)", [BIN / "lint-imports"]),
        ("pytest", [BIN / "pytest", "--cov", "--cov-report=term:skip-covered", *args.pytest_args]),
    ]:
        if run(*cmd, check=False) != 0:
            failed.append(name)
    if failed:
        sys.exit(f"FAILED: {', '.join(failed)}")
    print("All checks passed.")


def i18n(args: argparse.Namespace) -> None:
    """Extract messages, merge them into the Vietnamese catalogue, compile; list what is missing."""
    ensure_venv("test")
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
