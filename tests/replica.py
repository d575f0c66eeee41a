"""A real PostgreSQL primary and its streaming standby, each on its own free port in a temporary
folder: ``initdb`` for the primary, ``pg_basebackup -R`` for the standby (as the ``postgres`` user
when the tests run as root, since PostgreSQL refuses to run as root).

The tests' own pair, not the machine's server: ``pg_basebackup`` of the shared server would copy
every other database on it (benchmarks of millions of rows) and needs a ``replication`` line in
its ``pg_hba.conf``; the pair here is the same streaming replication, made in a second.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.browser import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or ([shutil.which(name)] if shutil.which(name) else [])
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian: postgresql)")
    return str(found[-1])


def _as_postgres(args: list[str], check: bool = True) -> subprocess.CompletedProcess[bytes]:
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    done = subprocess.run(args, capture_output=True, check=False)  # noqa: S603
    if check and done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return done


@dataclass
class Pair:
    primary_port: int
    standby_port: int
    folder: Path

    def url(self, port: int, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"

    def pg_ctl(self, which: str, *args: str, check: bool = True) -> None:
        _as_postgres([_bin("pg_ctl"), "-D", str(self.folder / which), "-w", "-t", "60", *args], check=check)


@contextmanager
def primary_and_standby() -> Iterator[Pair]:
    # Its own folder in /tmp: pytest's temporary folders are the root user's alone (0700).
    folder = Path(tempfile.mkdtemp(prefix="hailong-replica-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    try:
        yield from _pair(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _pair(folder: Path) -> Iterator[Pair]:
    pair = Pair(free_port(), free_port(), folder)
    primary, standby = folder / "primary", folder / "standby"
    _as_postgres([_bin("initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8"])
    with (primary / "postgresql.conf").open("a") as conf:
        conf.write(f"port = {pair.primary_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{folder}'\n"
                   "wal_level = replica\nmax_wal_senders = 4\nfsync = off\n")
    with (primary / "pg_hba.conf").open("a") as hba:
        hba.write("host replication all 127.0.0.1/32 trust\n")
    pair.pg_ctl("primary", "-l", str(folder / "primary.log"), "start")
    try:
        _as_postgres([_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(pair.primary_port), "-U", "postgres",
                      "-D", str(standby), "-R", "-X", "stream", "-c", "fast"])
        with (standby / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {pair.standby_port}\nhot_standby = on\n")
        pair.pg_ctl("standby", "-l", str(folder / "standby.log"), "start")
        try:
            yield pair
        finally:
            pair.pg_ctl("standby", "-m", "immediate", "stop", check=False)
    finally:
        pair.pg_ctl("primary", "-m", "immediate", "stop", check=False)
