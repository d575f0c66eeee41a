"""A PostgreSQL cluster of the campaign's own: ``initdb`` in a temporary directory, ``postgres``
on a free port of 127.0.0.1 (its socket in that directory too), restarted by the campaign while
ratings arrive, stopped and deleted at the end. Never the shared server on port 5432: a restart
of that one would cut every other user of it.

When the campaign runs as root, the cluster's commands run as the ``postgres`` system user
(``runuser``), since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


def _bindir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or the newest /usr/lib/postgresql/<n>/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


def available() -> str | None:
    """None when a private cluster can be made here, else why not."""
    if _bindir() is None:
        return "initdb/pg_ctl not found (install the PostgreSQL server package)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the cluster as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    return None


class PrivateCluster:
    """``with PrivateCluster() as cluster: url = cluster.database("hailong")`` … ``cluster.restart()``."""

    def __init__(self, port: int) -> None:
        reason = available()
        if reason is not None:
            raise RuntimeError(f"no private PostgreSQL cluster: {reason}")
        self.bindir = _bindir()
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="hailong-campaign-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.restarts = 0
        self.outage_seconds = 0.0
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.root.chmod(0o700)

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        # Output to a file, never a pipe: the postmaster that pg_ctl starts inherits it and would
        # hold a pipe open for as long as it runs.
        with (self.root / "pg_ctl.log").open("a") as out:
            done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                  timeout=timeout, check=False)
        if done.returncode != 0:
            tail = (self.root / "pg_ctl.log").read_text()[-1500:]
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {tail}")

    def start(self) -> None:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                      "--locale=C.UTF-8", "--no-instructions")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(), "-w", "-t", "60",
                  "start")

    def _options(self) -> str:
        return (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=60 "
                "-c shared_buffers=32MB")

    def database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URL (TCP on 127.0.0.1)."""
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def restart(self, mode: str = "fast") -> float:
        """Restart the server (``fast``: clients cut, clean shutdown; ``immediate``: a crash, WAL
        recovery at start); the seconds it was down."""
        began = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(), "-m", mode, "-w",
                  "-t", "60", "restart")
        took = time.monotonic() - began
        self.restarts += 1
        self.outage_seconds += took
        return took

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
            except RuntimeError:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivateCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
