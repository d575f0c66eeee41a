"""The change since the previous period, measured against what was *published* for it.

A release's "change since the previous period" compares its overall index with the figure the
public already saw for the period before: the newest published (not withdrawn) release of that
period that shows the same questionnaire × unit × service, read from its stored snapshot —
never the previous period recomputed on today's data, which later approvals or corrections of old
responses would move. A release of the same scope is preferred; otherwise any published release
of that period showing the unit (a province's release for a commune).

The two periods' estimates come from different respondents, so they are treated as independent:
the difference ``d = x̂₁ − x̂₀`` has ``SE(d) = √(SE₁² + SE₀²)`` (both Taylor-linearised standard
errors as stored), the interval is ``d ± z·SE(d)`` at the release's confidence level and the change
is significant when that interval excludes 0 (two-sided ``p = 2(1 − Φ(|d| / SE(d)))``). Where the
earlier snapshot stored no SE, the change is shown without significance (``se`` null).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scipy.stats import norm
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.periods import Period
from survey.portal.snapshot import Change, PreviousRelease
from survey.store.models import Release, ReleaseStatus

Key = tuple[str, str, str | None]  # questionnaire, unit, service


@dataclass
class Previous:
    """The figures published for the period before a release's own."""

    period: Period
    rows: dict[Key, tuple[Mapping[str, Any], Mapping[str, Any]]] = field(default_factory=dict)  # → (row, release)

    @property
    def releases(self) -> list[PreviousRelease]:
        """The earlier releases compared with: id, version, scope (the snapshot's ``previous_releases``)."""
        seen: dict[int, PreviousRelease] = {}
        for _row, release in self.rows.values():
            seen.setdefault(int(release["id"]), {"id": int(release["id"]), "version": int(release["version"]),
                                                 "scope": str(release["scope"]), "period": self.period.code})
        return sorted(seen.values(), key=lambda r: r["id"])

    def change(self, questionnaire: str, unit: str, service: str | None, overall: Mapping[str, Any],
               confidence: float) -> Change | None:
        """The change of ``overall`` (this release's estimate and SE) since the published figure, or
        None when none was published (or it was suppressed)."""
        found = self.rows.get((questionnaire, unit, service))
        estimate = _number(overall.get("estimate"))
        if found is None or estimate is None:
            return None
        row, release = found
        before = row.get("overall") or {}
        base = _number(before.get("estimate"))
        if row.get("suppressed") or base is None:
            return None
        delta = estimate - base
        se_now, se_then = _number(overall.get("se")), _number(before.get("se"))
        out: Change = {"previous_period": self.period.code, "previous_estimate": base,
                               "previous_se": se_then, "previous_release": int(release["id"]),
                               "previous_version": int(release["version"]), "delta": delta,
                               "se": None, "ci_low": None, "ci_high": None, "p_value": None, "significant": None}
        if se_now is not None and se_then is not None:
            se = math.sqrt(se_now ** 2 + se_then ** 2)
            if se > 0:
                z = float(norm.ppf(0.5 + confidence / 2))
                p_value = float(2 * norm.sf(abs(delta) / se))
                out["se"], out["p_value"] = se, p_value
                out["ci_low"], out["ci_high"] = delta - z * se, delta + z * se
                out["significant"] = bool(abs(delta) > z * se)
        return out


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def previous_published(session: Session, period: Period, scope: str) -> Previous:
    """The published figures of the period before ``period``: the newest published version of each
    series of that period, the series of ``scope`` first (its rows win)."""
    before = period.previous()
    found = session.scalars(select(Release).where(
        Release.status == ReleaseStatus.PUBLISHED, Release.period_code == before.code)).all()
    newest: dict[str, Release] = {}
    for release in sorted(found, key=lambda r: r.version):
        newest[release.series] = release  # the last version of a series wins
    ordered = sorted(newest.values(), key=lambda r: (r.scope_code != scope, r.id))
    previous = Previous(before)
    for release in ordered:
        document = release.snapshot or {}
        info = {"id": release.id, "version": release.version, "scope": release.scope_code}
        for row in document.get("indices") or []:
            key = (str(row.get("questionnaire")), str(row.get("unit")), row.get("service"))
            previous.rows.setdefault(key, (row, info))
    return previous
