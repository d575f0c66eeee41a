"""The keys of the dossier-code HMAC, kept apart from the secret key and versioned.

A dossier code is stored only as ``HMAC-SHA256(key, questionnaire ∥ code)``; "one rating per
dossier" holds only while the same key computes the same HMAC. So the keys live in a key file
(``DOSSIER_KEY_FILE``, default ``dossier_keys.json`` in the instance folder, mode 0600) that
``hailong backup`` puts in the backup and ``hailong restore`` puts back:

``{"current": 2, "keys": {"1": "<hex>", "2": "<hex>"}}``

New codes are hashed with the ``current`` key; a code is "already rated" if its HMAC under *any*
key of the file is stored, so ``hailong dossier-key rotate`` (a new current key) keeps every
older rating refusing a repeat. Without a key file the secret key is the one key (version 0, as
before this file existed); the first rotation keeps it as version 0.

The database records each key version's fingerprint (``HMAC(key, "fingerprint")``, table
``dossier_key``); a key file whose key differs from the recorded fingerprint of its version is
refused (:class:`KeyMismatch`), so a restore or a start with the wrong file cannot silently let a
dossier be rated twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from survey.store.models import DossierKey, utcnow


class KeyMismatch(RuntimeError):
    """The configured dossier keys are not the ones this database's dossier codes were hashed with."""


@dataclass(frozen=True)
class Keyring:
    current: int
    keys: dict[int, str]  # version -> key text

    @property
    def secret(self) -> str:
        return self.keys[self.current]

    def secrets(self) -> list[str]:
        """Every key, the current one first."""
        return [self.secret, *(k for v, k in sorted(self.keys.items(), reverse=True) if v != self.current)]

    def fingerprints(self) -> dict[int, str]:
        return {v: fingerprint(k) for v, k in self.keys.items()}


def fingerprint(key: str) -> str:
    return hmac.new(key.encode("utf-8"), b"hailong dossier key fingerprint", hashlib.sha256).hexdigest()


def key_file(config: Any) -> Path:
    return Path(config["DOSSIER_KEY_FILE"])


def keyring(app: Any) -> Keyring:
    """The app's key ring, read once (``hailong dossier-key rotate`` takes effect at the next start)."""
    ring = app.extensions.get("hailong.dossier_keys")
    if ring is None:
        ring = app.extensions["hailong.dossier_keys"] = read(key_file(app.config), app.config["SECRET_KEY"])
    return ring  # type: ignore[no-any-return]


def read(path: Path, secret_key: str) -> Keyring:
    """The key ring of ``path``, or the secret key alone (version 0) when there is no file."""
    if not path.exists():
        return Keyring(0, {0: secret_key})
    data = json.loads(path.read_text(encoding="utf-8"))
    keys = {int(v): str(k) for v, k in data["keys"].items()}
    current = int(data["current"])
    if current not in keys or any(len(k) < 32 for v, k in keys.items() if v > 0):  # 0: the secret key
        raise KeyMismatch(f"{path}: the current key is missing or a key is shorter than 32 characters")
    return Keyring(current, keys)


def write(path: Path, ring: Keyring) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"current": ring.current, "keys": {str(v): k for v, k in sorted(ring.keys.items())}}, out, indent=1)
    os.replace(tmp, path)


def rotate(path: Path, secret_key: str) -> Keyring:
    """Add a new current key to the file (creating it, with the secret key as version 0)."""
    ring = read(path, secret_key)
    version = max(ring.keys) + 1
    new = Keyring(version, {**ring.keys, version: secrets.token_hex(32)})
    write(path, new)
    return new


_CHECKED: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def check(session: Session, ring: Keyring) -> None:
    """Record unknown key versions' fingerprints; :class:`KeyMismatch` if a recorded one differs.
    Checked once per engine and key ring per process."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    marker = json.dumps(ring.fingerprints(), sort_keys=True)
    if marker in _CHECKED.get(engine, set()):
        return
    recorded = {int(v): str(fp) for v, fp in session.execute(select(DossierKey.version, DossierKey.fingerprint))}
    mine = ring.fingerprints()
    wrong = sorted(v for v, fp in recorded.items() if v in mine and mine[v] != fp)
    missing = sorted(v for v in recorded if v not in mine)
    if wrong or missing:
        raise KeyMismatch(
            "The dossier keys configured (DOSSIER_KEY_FILE, or SECRET_KEY without a key file) are not the ones "
            f"this database's dossier codes were hashed with (versions {wrong + missing}). Restore the key file "
            "that belongs to this database (hailong restore puts it back) — with other keys a dossier could be "
            "rated twice.")
    new = [DossierKey(version=v, fingerprint=fp, created_at=utcnow()) for v, fp in mine.items() if v not in recorded]
    if new:
        session.add_all(new)
        session.commit()
    with _LOCK:
        _CHECKED.setdefault(engine, set()).add(marker)


def forget_checks() -> None:
    with _LOCK:
        _CHECKED.clear()
