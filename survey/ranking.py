"""Ranking units on the SIPAS overall index for a quarter, as a Department of Home Affairs reports it.

Every unit of the chosen level (district or commune) is a domain of the full sample, with the
responses of every unit below it. For the chosen quarter each unit gets its overall satisfaction
index with n and a confidence interval, its change since the previous quarter (with the standard
error of the difference and a significance flag, :func:`scoring.compare.change_sipas`), a rank
and a performance group (nhóm 1–4, :func:`scoring.compare.groups`). Units with fewer valid
answers than the publication minimum are listed but neither ranked nor grouped: their interval
is too wide to place them. The median, highest and lowest index over the ranked units close the
table, like the official sheets.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from exports.tables import Column, ResultTable
from questionnaires import Questionnaire
from survey.frames import responses_frame
from survey.models import Service, Unit, UnitLevel
from survey.periods import previous_quarter, quarters
from survey.results import bounded, flag_or_none, number_or_none, sipas_spec, whole_or_none
from survey.text import sort_key

RANKED_LEVELS = (UnitLevel.DISTRICT, UnitLevel.COMMUNE)


@dataclass(frozen=True)
class Ranking:
    table: ResultTable
    periods: tuple[str, ...]  # quarters with responses, oldest first
    period: str | None  # the quarter ranked (None: no responses at all)
    base: str | None  # the previous quarter, when it has responses
    summary: dict[str, float | None]  # median, highest, lowest overall index over ranked units


def area_of(session: Session, level: UnitLevel) -> tuple[list[Unit], dict[int, int]]:
    """The units of ``level`` (in Vietnamese order) and, for every unit at or below one of
    them, that unit's id."""
    units = session.scalars(select(Unit)).all()
    by_id = {u.id: u for u in units}
    areas: dict[int, int] = {}
    for unit in units:
        node: Unit | None = unit
        while node is not None and node.level != level:
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
        if node is not None:
            areas[unit.id] = node.id
    chosen = sorted((u for u in units if u.level == level), key=lambda u: sort_key(u.name))
    return chosen, areas


def unit_ranking(
    session: Session, questionnaire: Questionnaire, *, level: UnitLevel, service: Service | None,
    period: str | None, language: str, confidence: float = 0.95, min_n: int = 30,
) -> Ranking:
    """Rank the units of ``level`` on ``questionnaire``'s overall index in ``period``
    (default: the latest quarter with responses), for one service or all of them."""
    from scoring.compare import change_sipas, groups, rank
    from scoring.design import SurveyDesign
    from scoring.sipas import score_sipas

    units, areas = area_of(session, level)
    frame = responses_frame(session, questionnaire, service_ids=[service.id] if service else None)
    frame["period"] = quarters(frame["submitted_at"]) if len(frame) else pd.Series(dtype=str)
    frame["area"] = frame["unit_id"].map(areas).fillna(-1).astype(int)  # -1: above the level (province desks)
    periods = tuple(sorted(frame["period"].unique()))
    if period is None and periods:
        period = periods[-1]
    base = previous_quarter(period) if period else None
    base = base if base in periods else None
    scores = pd.DataFrame(columns=["area", "n", "estimate", "se", "ci_low", "ci_high"])
    changes = pd.DataFrame(columns=["area", "change", "change_se", "significant"])
    if period in periods:
        spec = sipas_spec(questionnaire)
        design = SurveyDesign(weight="weight")
        scored = score_sipas(frame, spec, design=design, by=["period", "area"], level=confidence).to_frame()
        scored = scored[(scored["kind"] == "overall") & (scored["period"] == period) & (scored["area"] >= 0)]
        scores = scored[["area", "n", "estimate", "se", "ci_low", "ci_high"]]
        if base is not None:
            delta = change_sipas(frame, spec, period="period", base=base, current=period, design=design,
                                 by=["area"], level=confidence).to_frame()
            delta = delta[(delta["kind"] == "overall") & (delta["area"] >= 0)]
            changes = delta.rename(columns={"estimate": "change", "se": "change_se"})[
                ["area", "change", "change_se", "significant"]]
    table = pd.DataFrame({"area": [u.id for u in units]})
    table = table.merge(scores, on="area", how="left").merge(changes, on="area", how="left")
    table["n"] = table["n"].fillna(0).astype(int)
    eligible = table["estimate"].where(table["n"] >= min_n)
    table["rank"] = rank(eligible.astype(float))
    table["group"] = groups(eligible.astype(float))
    order = {u.id: n for n, u in enumerate(units)}
    table["_order"] = table["area"].map(order)
    table = table.sort_values(["rank", "_order"], na_position="last", kind="stable")
    by_id = {u.id: u for u in units}
    rows = tuple(_row(rec, by_id[int(rec["area"])], min_n) for rec in table.to_dict("records"))
    ranked = eligible.dropna()
    summary = {
        "median": float(np.median(ranked)) if len(ranked) else None,
        "highest": float(ranked.max()) if len(ranked) else None,
        "lowest": float(ranked.min()) if len(ranked) else None,
    }
    what = service.name(language) if service else _("All services")
    title = f"{questionnaire.title.get(language)} — {what} — {period or '—'}"
    return Ranking(ResultTable(title=title, columns=_columns(confidence), rows=rows), periods, period, base, summary)


def _row(rec: Mapping[Hashable, Any], unit: Unit, min_n: int) -> dict[str, object]:
    n = int(rec["n"])
    return {
        "rank": whole_or_none(rec["rank"]),
        "code": unit.code,
        "unit": unit.name,
        "n": n,
        "estimate": number_or_none(rec["estimate"]),
        "ci_low": bounded(rec["ci_low"], "overall"),
        "ci_high": bounded(rec["ci_high"], "overall"),
        "change": number_or_none(rec.get("change")),
        "change_se": number_or_none(rec.get("change_se")),
        "significant": flag_or_none(rec.get("significant")),
        "group": whole_or_none(rec["group"]),
        "small_sample": 0 < n < min_n,
    }


def _columns(confidence: float) -> tuple[Column, ...]:
    percent = round(confidence * 100)
    return (
        Column("rank", _("Rank")),
        Column("code", _("Code")),
        Column("unit", _("Unit")),
        Column("n", _("Valid answers (n)")),
        Column("estimate", _("Overall satisfaction index"), decimals=4),
        Column("ci_low", _("%(level)s%% CI low", level=percent), decimals=4),
        Column("ci_high", _("%(level)s%% CI high", level=percent), decimals=4),
        Column("change", _("Change since the previous quarter"), decimals=4),
        Column("change_se", _("Standard error of the change"), decimals=4),
        Column("significant", _("Significant change")),
        Column("group", _("Group")),
        Column("small_sample", _("Small sample")),
    )
