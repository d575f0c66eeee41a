"""Configuration: defaults, then the instance file, then ``HAILONG_*`` environment variables.

Every setting is listed in :data:`SETTINGS` with its default, its type and its meaning; the
README table is checked against this list by a test, so the documentation cannot drift.

Settings are typed and checked once, at start-up (:func:`finalize`, called by ``create_app``):
booleans (``true/false``, ``1/0``, ``yes/no``, ``on/off``, any case), whole numbers and decimals
are parsed from the environment's text once, and the app only ever sees the parsed value. An
ill-typed value, a value outside its choices, or a ``HAILONG_*`` variable that names no setting
(a misspelling) raises :class:`ConfigError`, whose one-line message ``hailong serve`` and
``hailong init-db`` print instead of starting.

Adding a setting is one line in :data:`SETTINGS`: ``Setting("NAME", default, "help")``. Its type
is the default's type; give ``kind=`` when the default is ``None`` (e.g. ``kind=bool``) or for a
comma-separated list (``kind=list``), ``choices=`` for a closed set of words and ``between=`` for
a decimal strictly inside a range. Whole numbers are never negative. Then add the README row.
A ``HAILONG_*`` variable read by tooling rather than the app goes in :data:`NOT_SETTINGS`.

>>> parse_value(SETTING["KIOSK_REQUIRE_DEVICE"], "False")
False
>>> parse_value(SETTING["LANGUAGES"], "vi, en")
['vi', 'en']
>>> try:
...     parse_value(SETTING["KIOSK_BURST_COUNT"], "five")
... except ConfigError as exc:
...     print(exc)
HAILONG_KIOSK_BURST_COUNT='five' is not a whole number (default: 5).
"""

from __future__ import annotations

import difflib
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

try:
    VERSION = version("hailong")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    VERSION = "0.0.0"

PREFIX = "HAILONG_"


class ConfigError(RuntimeError):
    """A setting the app cannot start with; the message is one line for the operator."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type | None = None  # None: the default's type (str when the default is None)
    choices: tuple[str, ...] = ()
    between: tuple[float, float] | None = None  # a decimal strictly between these bounds

    @property
    def type(self) -> type:
        if self.kind is not None:
            return self.kind
        return str if self.default is None else type(self.default)


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", None, "SQLAlchemy database URL. Default: SQLite file `hailong.sqlite` in the instance folder. PostgreSQL: `postgresql+psycopg://user@host/db`."),
    Setting("DATABASE_REPLICA_URL", "", "A PostgreSQL streaming standby of `DATABASE_URL`: the portal, open data, data exports and release builds read from it while its lag is within `REPLICA_MAX_LAG_SECONDS`; empty: none."),
    Setting("REPLICA_MAX_LAG_SECONDS", 10.0, "Staleness bound of the read replica: a standby further behind than this is not read (the primary answers); a release build waits up to this long for it to catch up."),
    Setting("SECRET_KEY", None, "Signs sessions, CSRF tokens and QR tokens. Required in production; the demo generates one and keeps it in the instance folder."),
    Setting("ENV", "production", "`production` (refuses to start without a secret key) or `demo`.", choices=("production", "demo")),
    Setting("DEFAULT_LANGUAGE", "vi", "Language shown when the user has not chosen one (`vi` or `en`).", choices=("vi", "en")),
    Setting("LANGUAGES", "vi,en", "Languages offered in the language switch, comma-separated.", kind=list),
    Setting("KIOSK_RETURN_SECONDS", 8, "Seconds the kiosk shows its thank-you screen before returning to the start screen."),
    Setting("KIOSK_IDLE_SECONDS", 60, "Seconds without a touch after which a half-filled kiosk form is abandoned and the start screen returns."),
    Setting("KIOSK_REQUIRE_DEVICE", False, "`true`: a kiosk accepts ratings only from a registered device (or a signed-in staff member); `false`: ratings from an unregistered browser are stored but flagged `unregistered` for review."),
    Setting("KIOSK_BURST_COUNT", 5, "More than this many ratings from one kiosk device within `KIOSK_BURST_SECONDS` are stored but flagged `burst` for review."),
    Setting("KIOSK_BURST_SECONDS", 30, "Window of the kiosk burst detection, in seconds."),
    Setting("API_RATE_LIMIT_PER_MINUTE", 600, "Submission API requests allowed per credential per minute (per server process); more get HTTP 429."),
    Setting("API_BATCH_MAX", 2000, "Most submissions accepted in one batch request."),
    Setting("TOKEN_DAYS", 30, "Days an enumerator's API token stays valid; after that the app answers 401 and asks them to sign in again (`0`: never expires). Kiosk device tokens do not expire; staff revoke them on the desk page."),
    Setting("MIN_PUBLISH_N", 30, "Estimates with fewer valid answers are flagged as small samples."),
    Setting("CONFIDENCE_LEVEL", 0.95, "Confidence level of the intervals shown to staff.", between=(0.0, 1.0)),
    Setting("MIN_EFFECTIVE_N", 20.0, "A release suppresses a cell whose effective sample size (n / design effect) is below this, as well as one with fewer than `MIN_PUBLISH_N` valid answers."),
    Setting("METHODOLOGY_VERSION", "2026.1", "Methodology version a new release states by default (the analyst may change it)."),
    Setting("LOG_FORMAT", "text", "`text` (readable lines) or `json` (one JSON object a line with time, level, logger, message and the request id; the access log too).", choices=("text", "json")),
    Setting("METRICS_TOKEN", "", "Bearer token that opens `/metrics` (Prometheus) to other machines; empty: only loopback clients get it."),
    Setting("WEB_WORKERS", 4, "Worker processes of `hailong serve` (gunicorn); `--workers` overrides it. 4 on a 2-core machine: the best throughput of a mix of kiosk submissions and staff pages in `bench/bench_serve.py` (docs/scaling.md); each worker holds the app in memory (≈ 300 MB)."),
    Setting("WEB_THREADS", 2, "Threads per worker of `hailong serve` (gunicorn gthread; keep-alive needs at least 2); `--threads` overrides it. With 4 workers, 2 threads served staff pages faster than 4 at the same throughput (docs/scaling.md)."),
    Setting("QUEUE_URL", "", "Task queue of the background jobs (release builds): empty for Huey's SQLite storage in the instance folder (`huey.sqlite`), `sqlite:///FILE`, or `redis://host:6379/0` for Redis."),
    Setting("QUEUE_IMMEDIATE", False, "`true`: jobs run at once in the process that asks for them (tests, scripts) instead of on the queue."),
    Setting("EXPORT_KEEP_HOURS", 24.0, "Hours a data export prepared in the background (`/staff/export/jobs`) is kept for download after it is done; then the worker removes the file.", between=(0.0, 8760.0)),
    Setting("PRERENDER_PAGES", None, "`true`: publishing or withdrawing a release enqueues a job that renders every page of it, in every language, into the pages the portal serves (its first readers never wait); `false`: each page is rendered by its first reader. Default: on when jobs run on a queue, off with `QUEUE_IMMEDIATE` (the publisher would wait for every page).", kind=bool),
    Setting("OPEN_DATA_LICENSE", "CC-BY-4.0", "Licence of the published data packages and of their CKAN datasets.", choices=("CC-BY-4.0", "CC0-1.0", "ODC-BY-1.0")),
    Setting("OPEN_DATA_PUBLISHER", "", "Publisher named in the data packages (e.g. `Sở Nội vụ tỉnh Cà Mau`); empty: none named."),
    Setting("CKAN_URL", "", "Address of the CKAN open-data portal that `hailong portal push-ckan` publishes releases to (e.g. `https://data.example.gov.vn`); empty: no CKAN."),
    Setting("CKAN_API_KEY", "", "API token of the CKAN account that publishes the releases (keep it secret)."),
    Setting("CKAN_ORGANIZATION", "", "CKAN organisation (its name) that owns the release datasets."),
    Setting("LATE_UPLOAD_DAYS", 90, "Submissions stamped more than this many days before the server receives them (or more than 10 minutes after) are refused: the window for late offline uploads. Scores count a response in the period of its `submitted_at`, which therefore lies within this window before its server receipt time `received_at` (kept beside it)."),
    Setting("KIOSK_UNREGISTERED_PER_MINUTE", 10, "Ratings per minute accepted from one address on a kiosk form without a registered device (more get HTTP 429)."),
    Setting("LINK_PER_ADDRESS_PER_MINUTE", 30, "Ratings per minute accepted from one address on the public links and receipt forms (more get HTTP 429, answers kept)."),
    Setting("LINK_REVIEW_PER_HOUR", 60, "Public-link ratings of one unit beyond this many in an hour are stored but flagged `link_rate` for review."),
    Setting("TRUSTED_PROXIES", 0, "Number of reverse proxies in front of the app whose `X-Forwarded-For`/`-Proto` are believed (0: none; the client address is the connection's)."),
    Setting("RATE_LIMIT_STORAGE", "memory://", "Where rate-limit counters live (Flask-Limiter's storage): `memory://` (per server process) or `redis://host:6379/0` (shared by all workers and servers)."),
    Setting("RATE_LIMIT_PREFIX", "hailong", "First part of every rate-limit key in that storage: give each installation sharing one Redis its own."),
    Setting("DIGEST_NONCE_SECONDS", 600, "Seconds an HTTP Digest nonce of the ODK Collect endpoints stays fresh; an older one is answered with a new challenge (`stale=true`)."),
    Setting("LOGIN_MAX_PER_ADDRESS", 30, "Failed sign-ins from one address in 15 minutes (any accounts) before that address must wait."),
    Setting("LOGIN_LOCK_AFTER", 50, "Failed sign-ins to one account in an hour (from all addresses) that lock it for an hour for addresses it was never used from; `hailong unlock-user` lifts the lock."),
    Setting("SESSION_IDLE_MINUTES", 120, "A staff session ends after this many minutes without a request."),
    Setting("SESSION_HOURS", 12, "A staff session ends this many hours after sign-in."),
    Setting("COOKIE_SECURE", None, "Session and kiosk cookies only over HTTPS. Default: on in production, off in the demo.", kind=bool),
    Setting("DOSSIER_KEY_FILE", None, "The versioned dossier-key file (default `dossier_keys.json` in the instance folder); without it the secret key hashes dossier codes. `hailong dossier-key rotate` creates or extends it; `hailong backup` includes it."),
    Setting("CASE_REPLY_DAYS", 15, "Working days a unit has to answer a citizen's complaint or feedback (Decision 766/QĐ-TTg: 15)."),
    Setting("CASE_REJECT_DAYS", 2, "Working days to reject a complaint or feedback not accepted for handling (Decision 766: 2)."),
    Setting("CASE_INFO_DAYS", 5, "Working days to ask the citizen for more information about a complaint (Decision 766: 5)."),
    Setting("CASE_PUBLISH_DAYS", 2, "Working days to publish the answer to a complaint once it is given (Decision 766: 2)."),
    Setting("CASE_REMIND_DAYS", 2, "The reminder job marks open cases due within this many working days (and late ones) every day."),
    Setting("MAIL_SERVER", "", "SMTP server that e-mails the case reminders (e.g. `smtp.camau.gov.vn`); empty: reminders are shown in the app only."),
    Setting("MAIL_PORT", 25, "Port of `MAIL_SERVER` (587 with `MAIL_USE_TLS`)."),
    Setting("MAIL_USE_TLS", False, "`true`: STARTTLS before signing in to `MAIL_SERVER`."),
    Setting("MAIL_USERNAME", "", "Account on `MAIL_SERVER` (empty: no sign-in)."),
    Setting("MAIL_PASSWORD", "", "Password of `MAIL_USERNAME` (keep it secret)."),
    Setting("MAIL_FROM", "hailong@localhost", "Sender address of the e-mails."),
    Setting("CASE_REMINDER_MAIL_TO", "", "Who receives the case reminders by e-mail: `UNIT=address` pairs, comma-separated (e.g. `96=motcua@camau.gov.vn, 31825=ubnd.baclieu@camau.gov.vn`); a case goes to the address of its unit or of the nearest unit above it that has one.", kind=list),
    Setting("CASE_LOOKUP_PER_HOUR", 20, "Public look-ups of a case code allowed per address per hour (more get HTTP 429)."),
    Setting("QUALITY_SECONDS_PER_ANSWER", 4, "An enumerator interview shorter than this many seconds per answer given is flagged `too_fast` (0: off)."),
    Setting("QUALITY_STRAIGHT_RUN", 10, "This many identical answers in a row on scale questions flag a response `straight_line` (0: off)."),
    Setting("QUALITY_GPS_KM", 3.0, "An interview whose position is farther than this (km) from the median position of the village's other interviews is flagged `gps_far`."),
    Setting("QUALITY_OFFICE_HOURS", "07:00-17:30", "Kiosk ratings outside these hours (Vietnam time) or on a day off are flagged `out_of_hours` (empty: off)."),
    Setting("QUALITY_FIELD_HOURS", "06:00-21:00", "Enumerator interviews outside these hours (Vietnam time) are flagged `out_of_hours` (empty: off)."),
    Setting("QUALITY_DOSSIER_TRIES", 3, "After this many refused dossier codes at one kiosk within ten minutes, its next ratings are flagged `dossier_tries` (0: off)."),
    Setting("QUALITY_BACKCHECK_SHARE", 0.1, "Share of enumerator interviews drawn for a back-check visit."),
    Setting("QUALITY_BACKCHECK_AGREEMENT", 0.8, "A back-check agreeing with the interview on fewer than this share of the questions asked again flags it `back_check`."),
)

DEFAULTS = {s.name: s.default for s in SETTINGS}
SETTING = {s.name: s for s in SETTINGS}

# HAILONG_* variables that are not app settings: read before the app exists, or by tooling.
NOT_SETTINGS = frozenset({"INSTANCE_PATH", "TEST_PG", "TEST_WORKERS", "CHROMIUM", "BENCH"})

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_KIND_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text",
               list: "a comma-separated list"}


def parse_value(setting: Setting, value: Any) -> Any:
    """``value`` (text from the environment, or a Python value from the instance file or a
    test) as the setting's type; :class:`ConfigError` if it is not one."""
    kind = setting.type
    if value is None or (isinstance(value, str) and not value.strip() and setting.default is None):
        if setting.default is None:
            return None
        raise _bad(setting, value)
    parsed: Any
    if kind is bool:
        if isinstance(value, bool):
            parsed = value
        elif isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            parsed = value.strip().lower() in _TRUE
        elif isinstance(value, int) and value in (0, 1):
            parsed = bool(value)
        else:
            raise _bad(setting, value)
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            parsed = value
        elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            parsed = int(value.strip())
        else:
            raise _bad(setting, value)
        if parsed < 0:
            raise _bad(setting, value, "is negative")
    elif kind is float:
        try:
            parsed = float(value.strip().replace(",", ".") if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise _bad(setting, value) from None
        if isinstance(value, bool) or not math.isfinite(parsed):
            raise _bad(setting, value)
        if setting.between and not setting.between[0] < parsed < setting.between[1]:
            low, high = setting.between
            raise _bad(setting, value, f"is not strictly between {low:g} and {high:g}")
    elif kind is list:
        if isinstance(value, str):
            parsed = [x.strip() for x in value.split(",") if x.strip()]
        elif isinstance(value, list | tuple) and all(isinstance(x, str) for x in value):
            parsed = list(value)
        else:
            raise _bad(setting, value)
    elif isinstance(value, kind):
        parsed = value
    else:
        raise _bad(setting, value)
    if setting.choices:
        for item in parsed if isinstance(parsed, list) else [parsed]:
            if item not in setting.choices:
                raise _bad(setting, value, f"is not one of {', '.join(setting.choices)}")
    return parsed


def _bad(setting: Setting, value: Any, problem: str | None = None) -> ConfigError:
    problem = problem or f"is not {_KIND_WORDS.get(setting.type, setting.type.__name__)}"
    default = ",".join(setting.default) if isinstance(setting.default, list) else setting.default
    hint = "" if setting.default is None else f" (default: {str(default).lower() if isinstance(default, bool) else default})"
    return ConfigError(f"{PREFIX}{setting.name}={value!r} {problem}{hint}.")


def from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``HAILONG_*`` settings in ``environ``, as text; :class:`ConfigError` for a variable
    that names no setting."""
    found: dict[str, str] = {}
    for key, value in environ.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX):]
        if name in SETTING:
            found[name] = value
        elif name not in NOT_SETTINGS:
            close = difflib.get_close_matches(name, list(SETTING), n=1)
            hint = f"; did you mean {PREFIX}{close[0]}?" if close else "; the README lists the settings."
            raise ConfigError(f"{key} is not a Hài Lòng setting{hint}")
    return found


def finalize(config: dict[str, Any], instance_path: Path) -> None:
    """Parse every setting to its type, fill derived settings and refuse an unsafe production
    configuration; :class:`ConfigError` (one line) for anything the app cannot start with."""
    for setting in SETTINGS:
        config[setting.name] = parse_value(setting, config.get(setting.name, setting.default))
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance_path / 'hailong.sqlite'}"
    if config.get("DATABASE_REPLICA_URL") and not (
            str(config["DATABASE_URL"]).startswith("postgresql") and str(config["DATABASE_REPLICA_URL"]).startswith("postgresql")):
        raise ConfigError("HAILONG_DATABASE_REPLICA_URL needs PostgreSQL for both the database and its replica "
                          "(a streaming standby of HAILONG_DATABASE_URL).")
    if not config.get("DOSSIER_KEY_FILE"):
        config["DOSSIER_KEY_FILE"] = str(instance_path / "dossier_keys.json")
    if not config.get("SECRET_KEY"):
        if config.get("TESTING") or config.get("ENV") == "demo":
            config["SECRET_KEY"] = demo_secret_key(instance_path)
        else:
            raise ConfigError(
                "HAILONG_SECRET_KEY is not set. Production refuses to start without a secret key: "
                "set HAILONG_SECRET_KEY (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`) "
                "or run the demo with HAILONG_ENV=demo."
            )
    if config.get("ENV") == "production" and not config.get("TESTING") \
            and len(str(config["SECRET_KEY"]).encode("utf-8")) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"HAILONG_SECRET_KEY is too short: production needs at least {MIN_SECRET_KEY_BYTES} bytes "
            "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`).")


MIN_SECRET_KEY_BYTES = 32  # production refuses a shorter secret key


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
