"""How the portal writes numbers, intervals, periods and times in the reader's language.

Vietnamese uses a decimal comma and a dot between thousands (``85,3%``, ``1.234``); English the
reverse (CLDR data through Babel, not string surgery). Shares are stored in [0, 1] and shown as
percentages with one decimal; PAPI scores and PAR 8.1 points with two. Times are shown in
Vietnam time, with the zone named. Every function follows the current request's language
(``flask_babel.force_locale`` picks another, e.g. for a PDF in English).
"""

from __future__ import annotations

import re
from datetime import datetime

from babel.dates import format_datetime
from babel.numbers import format_decimal
from flask_babel import gettext as _

from survey.i18n import current_language
from survey.periods import local

_PERIOD = re.compile(r"^(\d{4})(?:-(Q[1-4]|H[12]|9M))?$")
_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}
_LOCALES = {"vi": "vi_VN", "en": "en_GB"}


def _locale() -> str:
    return _LOCALES.get(current_language(), "vi_VN")


def number(value: float | None, decimals: int = 1) -> str:
    """``1234.5`` → ``1.234,5`` (vi) / ``1,234.5`` (en); ``None`` → an empty string."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return str(format_decimal(value, format=pattern, locale=_locale()))


def count(value: float | None) -> str:
    """A whole number with the thousands separator: ``1234`` → ``1.234`` (vi)."""
    return number(value, 0)


def percent(share: float | None, decimals: int = 1) -> str:
    """A share in [0, 1] as a percentage: ``0.853`` → ``85,3%`` (vi) / ``85.3%`` (en)."""
    if share is None:
        return ""
    return number(share * 100, decimals) + "%"


def signed_points(delta: float | None, decimals: int = 1) -> str:
    """A change of a share in percentage points with its sign: ``0.021`` → ``+2,1``."""
    if delta is None:
        return ""
    text = number(abs(delta) * 100, decimals)
    if not text.strip("0,."):
        return "±" + text
    return ("−" if delta < 0 else "+") + text


def interval(low: float | None, high: float | None, *, share: bool = True, decimals: int = 1) -> str:
    """``85,0–89,0%`` for a share, ``5,41–6,02`` for a score (``decimals=2``)."""
    if low is None or high is None:
        return ""
    if share:
        return f"{number(low * 100, decimals)}–{number(high * 100, decimals)}%"
    return f"{number(low, decimals)}–{number(high, decimals)}"


def period_label(code: str) -> str:
    """``2026-Q3`` → ``Quý III/2026`` (vi) / ``Q3 2026`` (en); also halves (``2026-H1``), nine
    months (``2026-9M``) and years (``2026``). Codes of another shape are returned unchanged."""
    found = _PERIOD.match(code or "")
    if found is None:
        return code
    year, part = found.group(1), found.group(2)
    if part is None:
        return _("Year %(year)s", year=year)
    if part.startswith("Q"):
        numeral = _ROMAN[part[1]] if current_language() == "vi" else part[1]
        return _("Q%(number)s %(year)s", number=numeral, year=year)
    if part == "H1":
        return _("First half of %(year)s", year=year)
    if part == "H2":
        return _("Second half of %(year)s", year=year)
    return _("First nine months of %(year)s", year=year)


def moment(value: str | datetime | None) -> str:
    """An ISO time in Vietnam time with its zone: ``05/10/2026 09:00 (giờ Việt Nam, UTC+7)``."""
    if value is None or value == "":
        return ""
    stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
    pattern = "dd/MM/yyyy HH:mm" if current_language() == "vi" else "d MMM yyyy HH:mm"
    text = format_datetime(local(stamp).replace(tzinfo=None), pattern, locale=_locale())
    return _("%(time)s (Vietnam time, UTC+7)", time=text)
