"""Configuration: defaults, then the instance file, then ``HAILONG_*`` environment variables.

Every setting is listed in :data:`SETTINGS` with its default and meaning; the README table is
checked against this list by a test, so the documentation cannot drift.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", None, "SQLAlchemy database URL. Default: SQLite file `hailong.sqlite` in the instance folder. PostgreSQL: `postgresql+psycopg://user@host/db`."),
    Setting("SECRET_KEY", None, "Signs sessions, CSRF tokens and QR tokens. Required in production; the demo generates one and keeps it in the instance folder."),
    Setting("ENV", "production", "`production` (refuses to start without a secret key) or `demo`."),
    Setting("DEFAULT_LANGUAGE", "vi", "Language shown when the user has not chosen one (`vi` or `en`)."),
    Setting("LANGUAGES", "vi,en", "Languages offered in the language switch, comma-separated."),
    Setting("KIOSK_RETURN_SECONDS", 8, "Seconds the kiosk shows its thank-you screen before returning to the start screen."),
    Setting("KIOSK_IDLE_SECONDS", 60, "Seconds without a touch after which a half-filled kiosk form is abandoned and the start screen returns."),
    Setting("KIOSK_REQUIRE_DEVICE", False, "`true`: a kiosk accepts ratings only from a registered device (or a signed-in staff member); `false`: ratings from an unregistered browser are stored but flagged `unregistered` for review."),
    Setting("KIOSK_BURST_COUNT", 5, "More than this many ratings from one kiosk device within `KIOSK_BURST_SECONDS` are stored but flagged `burst` for review."),
    Setting("KIOSK_BURST_SECONDS", 30, "Window of the kiosk burst detection, in seconds."),
    Setting("API_RATE_LIMIT_PER_MINUTE", 600, "Submission API requests allowed per credential per minute (per server process); more get HTTP 429."),
    Setting("API_BATCH_MAX", 2000, "Most submissions accepted in one batch request."),
    Setting("TOKEN_DAYS", 30, "Days an enumerator's API token stays valid; after that the app answers 401 and asks them to sign in again (`0`: never expires). Kiosk device tokens do not expire; staff revoke them on the desk page."),
    Setting("MIN_PUBLISH_N", 30, "Estimates with fewer valid answers are flagged as small samples."),
    Setting("CONFIDENCE_LEVEL", 0.95, "Confidence level of the intervals shown to staff."),
    Setting("MIN_EFFECTIVE_N", 20.0, "A release suppresses a cell whose effective sample size (n / design effect) is below this, as well as one with fewer than `MIN_PUBLISH_N` valid answers."),
    Setting("METHODOLOGY_VERSION", "2026.1", "Methodology version a new release states by default (the analyst may change it)."),
    Setting("QUEUE_URL", "", "Task queue of the background jobs (release builds): empty for Huey's SQLite storage in the instance folder (`huey.sqlite`), `sqlite:///FILE`, or `redis://host:6379/0` for Redis."),
    Setting("QUEUE_IMMEDIATE", False, "`true`: jobs run at once in the process that asks for them (tests, scripts) instead of on the queue."),
)

DEFAULTS = {s.name: s.default for s in SETTINGS}


def finalize(config: dict[str, Any], instance_path: Path) -> None:
    """Fill derived settings and refuse an unsafe production configuration."""
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance_path / 'hailong.sqlite'}"
    if isinstance(config.get("LANGUAGES"), str):
        config["LANGUAGES"] = [x.strip() for x in config["LANGUAGES"].split(",") if x.strip()]
    for key in ("KIOSK_RETURN_SECONDS", "KIOSK_IDLE_SECONDS", "MIN_PUBLISH_N", "TOKEN_DAYS"):
        config[key] = int(config[key])
    config["CONFIDENCE_LEVEL"] = float(config["CONFIDENCE_LEVEL"])
    if not config.get("SECRET_KEY"):
        if config.get("TESTING") or config.get("ENV") == "demo":
            config["SECRET_KEY"] = demo_secret_key(instance_path)
        else:
            raise RuntimeError(
                "HAILONG_SECRET_KEY is not set. Production refuses to start without a secret key: "
                "set HAILONG_SECRET_KEY (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`) "
                "or run the demo with HAILONG_ENV=demo."
            )


def demo_secret_key(instance_path: Path) -> str:
    """The demo's own secret key, generated once and kept in the instance folder."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    return key
