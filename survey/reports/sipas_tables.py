"""SIPAS results for staff: a unit (with everything below it) × a service or all services (the
province-wide, all-services index a Department of Home Affairs publishes), from the database.

The unit is a domain of the full sample (as R's ``svyby``), not its rows analysed alone. A unit of
today's map counts the responses of the old units that became part of it (a period before July
2025 re-aggregated from the microdata, :meth:`survey.store.units.UnitMap.counted_in`); an old unit
counts what was collected under it then.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from exports.tables import Column, ResultTable
from questionnaires import Questionnaire
from survey.periods import Period, quarters
from survey.reports.frames import responses_frame
from survey.store.models import Service, Unit

if TYPE_CHECKING:
    from scoring.sipas import SipasSpec

KIND_ORDER = {"element": 0, "overall": 1, "par_points": 2, "mean_score": 3, "criterion": 4}


# The questionnaire's ``overall_rule`` (questionnaires/SCHEMA.md) → the scoring package's rule.
OVERALL_RULES = {"par_weighted": "par_weighted", "mean": "plain_mean"}


def scored_as_sipas(questionnaire: Questionnaire) -> bool:
    """Can the SIPAS pages score it: satisfaction elements with an overall index (SIPAS forms and
    the public-service forms), not a PAPI questionnaire?"""
    return questionnaire.kind != "papi" and (
        questionnaire.overall_rule in OVERALL_RULES
        or (questionnaire.overall_rule == "overall_item" and questionnaire.overall_question is not None))


def sipas_spec(questionnaire: Questionnaire) -> SipasSpec:
    """The scoring specification read from the questionnaire's metadata.

    Raises ValueError for a questionnaire that has no SIPAS-style overall index
    (see :func:`scored_as_sipas`)."""
    from scoring.sipas import SipasElement, SipasSpec

    if not scored_as_sipas(questionnaire):
        raise ValueError(f"{questionnaire.id} has no SIPAS-style overall index ({questionnaire.overall_rule})")
    rule = OVERALL_RULES.get(questionnaire.overall_rule, f"item:{questionnaire.overall_question}")

    elements = tuple(
        SipasElement(
            id=e.id,
            max_points=float(e.max_points or 0.0),
            criteria=tuple(q.id for q in questionnaire.scored_questions() if q.element == e.id),
        )
        for e in questionnaire.elements
    )
    return SipasSpec(
        elements=tuple(e for e in elements if e.criteria),
        satisfied=frozenset(questionnaire.satisfied),
        overall_rule=rule,
    )


def subtree_ids(session: Session, unit: Unit) -> list[int]:
    """The stored units whose responses count in ``unit``: ``unit`` and every unit below it, and,
    for a unit of today's map, the old units that became part of it."""
    from survey.store.units import UnitMap

    return sorted(UnitMap(session).counted_in(unit))


@dataclass(frozen=True)
class SipasReport:
    table: ResultTable
    n_responses: int
    periods: tuple[str, ...] = ()  # quarters with responses to this service, oldest first
    regrouped: bool = False  # responses of old units (before July 2025) counted on today's map
    by_share: bool = False  # among them, a split old commune's counted by its share in this unit


def _period_words(period: str | None, language: str) -> str | None:
    """A quarter as people read it: ``Quý III/2026`` (``Q3 2026`` in English), never ``2026-Q3``."""
    if period is None:
        return None
    try:
        parsed = Period.parse(period)
    except ValueError:
        return period
    return parsed.label_vi if language == "vi" else parsed.label_en


def sipas_report(
    session: Session, questionnaire: Questionnaire, unit: Unit, service: Service | None, *, language: str,
    confidence: float = 0.95, min_n: int = 30, period: str | None = None,
) -> SipasReport:
    """SIPAS indices of ``unit`` (with every unit below it) for ``service`` (None: all services),
    over all responses or those of one quarter (``period``, e.g. ``2026-Q3``), as a domain of the
    full sample."""
    from survey.reports.rollups import score, usable
    from survey.store.units import UnitMap

    units = UnitMap(session)
    labels = {e.id: e.label.get(language) for e in questionnaire.elements}
    labels.update({q.id: q.label.get(language) for q in questionnaire.questions})
    kinds = kind_labels()
    old_units = {uid for uid, u in units.units.items() if not units.is_current(u)}
    # The rollups count whole units, each response its own PSU: they answer unless a split old
    # commune has a part in ``unit`` (then its responses count by share, from the microdata).
    cells = None if units.splits_in(unit) else usable(session, questionnaire, service.id if service is not None else None)
    if cells is not None:  # the rollups answer: same figures, a few rows read
        counted = units.counted_in(unit)
        mask = cells.frame["unit_id"].isin(counted)
        if period is not None:
            mask &= cells.frame["period"] == period
        n_responses = int(cells.frame.loc[mask, "n_responses"].sum())
        rows: list[dict[str, object]] = []
        if n_responses:
            scored = score(cells, cells.total(mask)[None, :], pd.DataFrame({"domain": ["unit"]}), confidence)
            rows = _rows(scored, labels, kinds, min_n)
        regrouped = units.is_current(unit) and bool(cells.frame.loc[mask, "unit_id"].isin(old_units).any())
        periods = tuple(sorted(cells.frame.loc[cells.frame["n_responses"] > 0, "period"].unique()))
        return SipasReport(table=_table(questionnaire, unit, service, period, language, confidence, rows),
                           n_responses=n_responses, periods=periods, regrouped=regrouped)
    # the microdata: no usable rollups (never built, stale, another layout, a split commune; see
    # survey.reports.rollups). Today's unit: the old units' responses re-aggregated onto it, a split
    # old commune's by its share (weight × share; the response one PSU, ``cluster``); an old unit:
    # as published then.
    frame = responses_frame(session, questionnaire, service_ids=[service.id] if service is not None else None)
    frame = units.in_unit(frame, unit)
    in_domain = frame["in_unit"]
    frame_periods = quarters(frame["submitted_at"])
    if period is not None:
        in_domain &= frame_periods == period
    frame["domain"] = in_domain.map({True: "unit", False: "other"})
    n_responses = int((frame["domain"] == "unit").sum())
    by_share = bool(((frame["domain"] == "unit") & (frame["share"] < 1)).any())
    rows = []
    if n_responses:
        from scoring.design import SurveyDesign
        from scoring.sipas import score_sipas

        # One response in the whole sample is one PSU: no variance can be estimated (and a t interval
        # would have 0 degrees of freedom). Score it for its point estimates; the row shows no interval.
        single = frame["cluster"].nunique() < 2
        design = (SurveyDesign(weight="weight", psu="cluster", lonely_psu="certainty") if single
                  else SurveyDesign(weight="weight", psu="cluster"))
        scored = score_sipas(frame, sipas_spec(questionnaire), design=design, by=["domain"], confidence=confidence,
                             df="inf" if single else "design").to_frame()
        scored = scored[scored["domain"] == "unit"].copy()
        if single:
            scored[["se", "ci_low", "ci_high"]] = float("nan")
        rows = _rows(scored, labels, kinds, min_n)
    regrouped = units.is_current(unit) and bool(frame.loc[frame["domain"] == "unit", "unit_id"].isin(old_units).any())
    return SipasReport(table=_table(questionnaire, unit, service, period, language, confidence, rows),
                       n_responses=n_responses, periods=tuple(sorted(frame_periods.unique())), regrouped=regrouped,
                       by_share=by_share)


def _rows(scored: pd.DataFrame, labels: dict[str, str], kinds: dict[str, str], min_n: int) -> list[dict[str, object]]:
    """The page's rows of the unit's scores, in the order of :data:`KIND_ORDER`."""
    scored = scored.copy()
    scored["order"] = scored["kind"].map(KIND_ORDER)
    scored = scored.sort_values(["order"], kind="stable")
    return [_row(rec, labels, kinds, min_n) for rec in scored.to_dict("records")]


def _table(questionnaire: Questionnaire, unit: Unit, service: Service | None, period: str | None, language: str,
           confidence: float, rows: list[dict[str, object]]) -> ResultTable:
    return ResultTable(
        title=" — ".join(part for part in (questionnaire.title.get(language), unit.name,
                                           service.name(language) if service is not None else _("All services"),
                                           _period_words(period, language)) if part),
        columns=_columns(confidence),
        rows=tuple(rows),
    )


def kind_labels() -> dict[str, str]:
    return {
        "element": _("Element"),
        "overall": _("Overall satisfaction index"),
        "par_points": _("PAR 8.1 points (of 10)"),
        "mean_score": _("Mean score (1–5 scale)"),
        "criterion": _("Criterion"),
    }


def _columns(confidence: float) -> tuple[Column, ...]:
    return (
        Column("kind", _("Kind")),
        Column("id", _("Code")),
        Column("label", _("Item")),
        Column("n", _("Valid answers (n)")),
        Column("estimate", _("Estimate"), decimals=4),
        Column("se", _("Standard error"), decimals=4),
        *interval_columns(confidence),
        Column("small_sample", _("Small sample")),
    )


def _row(rec: Mapping[Hashable, Any], labels: dict[str, str], kinds: dict[str, str], min_n: int) -> dict[str, object]:
    kind = str(rec["kind"])
    label = labels.get(str(rec["id"]), kinds[kind]) if kind in {"element", "criterion"} else kinds[kind]
    n = int(rec["n"])
    return {
        "kind": kinds[kind],
        "id": rec["id"],
        "label": label,
        "n": n,
        "estimate": number_or_none(rec["estimate"]),
        "se": number_or_none(rec["se"]),
        "ci_low": bounded(rec["ci_low"], kind),
        "ci_high": bounded(rec["ci_high"], kind),
        "small_sample": bool(rec.get("small_sample", n < min_n)),
        "_kind": kind,
    }


# What an index can possibly be: a Wald interval of a small sample can reach past these bounds
# (a rate below 0%), which is shown truncated to the possible range.
RANGES = {"criterion": (0.0, 1.0), "element": (0.0, 1.0), "overall": (0.0, 1.0), "par_points": (0.0, 10.0),
          "mean_score": (1.0, 5.0)}


def bounded(value: object, kind: str) -> float | None:
    """``value`` cut to the possible range of an index of ``kind`` (None when missing)."""
    return clamp(value, *RANGES[kind])


def clamp(value: object, low: float, high: float) -> float | None:
    """``value`` cut to [low, high] (None when missing)."""
    number = number_or_none(value)
    return None if number is None else min(max(number, low), high)


def interval_columns(confidence: float) -> tuple[Column, Column]:
    """The two columns of a confidence interval at ``confidence``, labelled with it."""
    percent = round(confidence * 100)
    return (Column("ci_low", _("%(level)s%% CI low", level=percent), decimals=4),
            Column("ci_high", _("%(level)s%% CI high", level=percent), decimals=4))


def flag_or_none(value: object) -> bool | None:
    """A bool, or None for a missing value (None, NaN, pandas NA)."""
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return None
    return bool(value)


def whole_or_none(value: object) -> int | None:
    """An int (a rank, a group, a count), or None for a missing value."""
    number = number_or_none(value)
    return None if number is None else int(number)


def number_or_none(value: object) -> float | None:
    """A float, or None for a missing value (None, NaN, pandas NA)."""
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return None
    return float(value)  # type: ignore[arg-type]
