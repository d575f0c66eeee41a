"""``hailong backup`` and ``hailong restore``: the database and the dossier keys, together.

A backup is one ``.tar`` file holding

* ``manifest.json`` — format, time, database kind, schema revision, row counts per table and the
  fingerprints of the dossier keys the database's codes were hashed with;
* the database — PostgreSQL through ``pg_dump --format=custom`` (``database.pgdump``), SQLite
  through its online backup API (``database.sqlite``, consistent while the app runs);
* ``dossier_keys.json`` — the dossier key file (see :mod:`survey.store.dossier_keys`), when the
  app has one. Without one, the secret key is the dossier key: the backup names it by its
  fingerprint only, and the restoring server must be given the same ``SECRET_KEY``.

The file holds personal data (hashed) and keys: keep it as safely as the database itself.

Restore goes into an *empty* database of the same kind (``hailong init-db`` not needed before),
then checks the keys: the restoring server's key file (or secret key) must carry every key the
backup's fingerprints name, else the restore is refused before anything is written. A key file
in the backup is written to ``DOSSIER_KEY_FILE`` when that file does not exist yet.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

from survey.store import dossier_keys
from survey.store.db import make_engine
from survey.store.models import Base

FORMAT = 1


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(database)


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        names = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            return {t.name: int(conn.scalar(select(func.count()).select_from(t)) or 0)
                    for t in Base.metadata.sorted_tables if t.name in names}
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if "alembic_version" not in inspect(conn).get_table_names():
                return None
            return conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()


def _recorded_fingerprints(url: str) -> dict[str, str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if "dossier_key" not in inspect(conn).get_table_names():
                return {}
            return {str(v): fp for v, fp in conn.execute(text("SELECT version, fingerprint FROM dossier_key"))}
    finally:
        engine.dispose()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def backup(url: str, ring: dossier_keys.Keyring, key_path: Path, out: Path) -> dict[str, Any]:
    """Write a backup of the database at ``url`` with its dossier keys to ``out``; the manifest."""
    kind = make_url(url).get_backend_name()
    recorded = _recorded_fingerprints(url)
    mine = {str(v): fp for v, fp in ring.fingerprints().items()}
    if any(mine.get(v) != fp for v, fp in recorded.items()):
        raise BackupError("The dossier keys configured here are not the ones this database was hashed with; "
                          "fix DOSSIER_KEY_FILE / SECRET_KEY before backing up.")
    manifest: dict[str, Any] = {
        "format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "database": kind,
        "revision": _revision(url), "counts": _counts(url),
        "dossier_keys": {"fingerprints": {**mine, **recorded}, "file": key_path.exists()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "sqlite":
            dump = Path(tmp) / "database.sqlite"
            source = sqlite3.connect(_sqlite_path(url))
            target = sqlite3.connect(dump)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        elif kind == "postgresql":
            dump = Path(tmp) / "database.pgdump"
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}",
                  f"--dbname={_libpq_url(url)}"])
        else:
            raise BackupError(f"Backups support SQLite and PostgreSQL, not {kind}.")
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            _add(tar, "manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False).encode())
            tar.add(dump, arcname=dump.name)
            if key_path.exists():
                _add(tar, "dossier_keys.json", key_path.read_bytes())
    return manifest


def _run(cmd: list[str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(f"{cmd[0]} is not installed (Debian: apt-get install postgresql-client).")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - fixed programs
    if done.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")


def _empty(url: str) -> bool:
    engine = make_engine(url)
    try:
        names = set(inspect(engine).get_table_names()) - {"alembic_version"}
        if not names:
            return True
        with engine.connect() as conn:
            return all(not conn.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables
                       if t.name in names)
    finally:
        engine.dispose()


def restore(url: str, secret_key: str, key_path: Path, archive: Path) -> dict[str, Any]:
    """Restore ``archive`` into the empty database at ``url``; the backup's manifest.

    Refused (:class:`BackupError`, nothing written) when the database is not empty, is of
    another kind, or when the dossier keys available here do not match the backup's."""
    kind = make_url(url).get_backend_name()
    with tarfile.open(archive, mode="r") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{archive} is not a Hài Lòng backup of format {FORMAT}.")
        if manifest["database"] != kind:
            raise BackupError(f"This backup is of a {manifest['database']} database; restore it into the same kind "
                              f"(DATABASE_URL is {kind}).")
        names = tar.getnames()
        key_member = tar.extractfile("dossier_keys.json") if "dossier_keys.json" in names else None
        backed_keys = key_member.read() if key_member is not None else None
        wanted = {str(v): fp for v, fp in manifest["dossier_keys"]["fingerprints"].items()}
        if backed_keys is not None and key_path.exists() and key_path.read_bytes() != backed_keys:
            ring = dossier_keys.read(key_path, secret_key)
        elif backed_keys is not None:
            data = json.loads(backed_keys)
            ring = dossier_keys.Keyring(int(data["current"]), {int(v): str(k) for v, k in data["keys"].items()})
        else:
            ring = dossier_keys.read(key_path, secret_key)
        have = {str(v): fp for v, fp in ring.fingerprints().items()}
        missing = sorted(v for v, fp in wanted.items() if have.get(v) != fp)
        if missing:
            raise BackupError(
                f"Refused: the dossier keys here do not match the backup's (versions {', '.join(missing)}). "
                "With other keys a dossier code already rated could be rated again. Restore with the backup's "
                "dossier key file, or the SECRET_KEY of the server that made the backup.")
        if not _empty(url):
            raise BackupError("Refused: the target database is not empty. Restore into a new, empty database.")
        with tempfile.TemporaryDirectory() as tmp:
            if kind == "sqlite":
                tar.extract("database.sqlite", tmp, filter="data")
                target_path = _sqlite_path(url)
                target_path.parent.mkdir(parents=True, exist_ok=True)
                source = sqlite3.connect(Path(tmp) / "database.sqlite")
                target = sqlite3.connect(target_path)
                try:
                    source.backup(target)
                finally:
                    target.close()
                    source.close()
                os.chmod(target_path, 0o600)
            else:
                tar.extract("database.pgdump", tmp, filter="data")
                engine = make_engine(url)
                try:  # an empty database that `init-db` already migrated: drop its empty tables first
                    Base.metadata.drop_all(engine)
                    with engine.begin() as conn:
                        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
                finally:
                    engine.dispose()
                _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                      f"--dbname={_libpq_url(url)}", str(Path(tmp) / "database.pgdump")])
    if backed_keys is not None and not key_path.exists():
        dossier_keys.write(key_path, ring)
    counts = _counts(url)
    if counts != manifest["counts"]:
        raise BackupError(f"The restored database does not hold what the backup holds: {counts} != {manifest['counts']}")
    return manifest
