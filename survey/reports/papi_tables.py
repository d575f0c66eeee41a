"""PAPI-style governance scores for staff: a unit (with every unit below it) in one survey year.

The household survey is a stratified cluster sample, and it is analysed as one: strata and
primary sampling units are the survey's own design columns — the stratum and PSU each interview
carries from the sample file or the enumerator's assignment (``response.stratum``/``psu``; an
interview without them is in one stratum, its village the PSU) — with the responses' weights; a
stratum with a single PSU surveyed is handled as R's ``options(survey.lonely.psu = "adjust")``.
Units are compared at any level of the map of the year (today's map, old units' interviews
re-aggregated onto it, or for a year before July 2025 the map of the time). The unit is a domain of the whole year's sample (as
``svyby``), so its interval reflects the clustering — PAPI's 16 interviews per village are not
16 independent answers. The structure — dimensions, sub-dimensions, indicators, their bounds and
direction — is read from the questionnaire; :mod:`scoring.papi` computes the scores. Answers
beyond an indicator's theoretical bounds are top-coded at the bound.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from exports.tables import Column, ResultTable
from questionnaires import Questionnaire
from survey.periods import years
from survey.reports.frames import responses_frame
from survey.reports.sipas_tables import (
    clamp,
    flag_or_none,
    interval_columns,
    number_or_none,
    whole_or_none,
)
from survey.store.models import Target, TargetKind, Unit, UnitLevel

if TYPE_CHECKING:
    from scoring.design import SurveyDesign
    from scoring.papi import PapiSpec

PAPI_QUESTIONNAIRE = "papi-household"
RANK_REPLICATES = 500  # bootstrap replicates behind the districts' rank intervals
RANK_SEED = 2026
KINDS = ["total", "dimension", "sub_dimension"]  # indicators stay out of the staff table


def score_ranges(n_dimensions: int) -> dict[str, tuple[float, float]]:
    """The possible values of each kind of score: a dimension 1–10, the total the sum of the
    dimensions; a sub-dimension of a dimension with k of them lies in [1/k, 10/k] ⊂ [0, 10]."""
    return {"total": (float(n_dimensions), 10.0 * n_dimensions), "dimension": (1.0, 10.0),
            "sub_dimension": (0.0, 10.0)}


def papi_spec(questionnaire: Questionnaire) -> PapiSpec:
    """The PAPI structure of ``questionnaire``: its elements are the dimensions, its
    sub-dimensions group the scored questions, each question an indicator with its bounds."""
    from scoring.papi import PapiDimension, PapiIndicator, PapiSpec, PapiSubDimension

    scored = questionnaire.scored_questions()
    dimensions = []
    for element in questionnaire.elements:
        subs = []
        for sub in (s for s in questionnaire.subdimensions if s.element == element.id):
            indicators = tuple(
                PapiIndicator(column=q.id, low=q.bounds[0], high=q.bounds[1],
                              higher_is_better=q.direction != "reverse")
                for q in scored if q.subdimension == sub.id and q.bounds is not None
            )
            if indicators:
                subs.append(PapiSubDimension(id=sub.id, indicators=indicators))
        if subs:
            dimensions.append(PapiDimension(id=element.id, sub_dimensions=tuple(subs)))
    return PapiSpec(dimensions=tuple(dimensions))


@dataclass(frozen=True)
class PapiReport:
    table: ResultTable
    years: tuple[str, ...]  # survey years with responses, oldest first
    year: str | None
    base: str | None  # the year before, when it has interviews: the change is measured from it
    n_responses: int  # interviews in the unit and year
    n_villages: int  # primary sampling units (villages) among them
    df: float | None  # design degrees of freedom of the year's sample (#PSUs − #strata)
    districts: ResultTable  # every compared unit's total in the year (of ``compare_level``), ranked, with nhóm 1–4
    goals: tuple[dict[str, object], ...] = ()  # the unit's goals for this year or later, with progress
    compare_level: UnitLevel | None = None  # the level of the units compared
    levels: tuple[UnitLevel, ...] = ()  # the levels that can be compared on the year's map
    todays_map: bool = True
    # The yes/no indicators as shares of the unit's households, each with its logit interval
    # (as R's ``svyciprop(method="logit")``: a share near 0 or 1 keeps an interval inside [0, 1])
    shares: ResultTable | None = None
    by_share: bool = False  # a split old commune's interviews counted in the unit by its share


def papi_report(
    session: Session, questionnaire: Questionnaire, unit: Unit, *, year: str | None, language: str,
    confidence: float = 0.95, min_n: int = 30, compare_level: UnitLevel | None = None, todays_map: bool = True,
) -> PapiReport:
    """Dimension, sub-dimension and total scores of ``unit`` in ``year`` (default: the latest),
    and the units of ``compare_level`` under it compared (default: the first level below it)."""
    from scoring.compare import change_papi
    from scoring.design import SurveyDesign
    from scoring.papi import score_papi
    from survey.store.units import UnitMap, then_day, year_days

    spec = papi_spec(questionnaire)
    frame = responses_frame(session, questionnaire)
    for indicator in (i for d in spec.dimensions for s in d.sub_dimensions for i in s.indicators):
        # An answer past the theoretical bound (a 150-minute walk to school where the scale ends at
        # 120) is a real answer: it is top-coded at the bound rather than refused.
        frame[indicator.column] = frame[indicator.column].clip(indicator.low, indicator.high)
    frame["year"] = years(frame["submitted_at"])
    found = tuple(sorted(frame["year"].unique()))
    year = year or (found[-1] if found else None)
    base = str(int(year) - 1) if year and str(int(year) - 1) in found else None
    unit_map = UnitMap(session)
    old_year = year is not None and unit_map.is_old_period(*year_days(year))
    todays_map = todays_map or not old_year
    day = then_day(*year_days(year)) if year is not None and not todays_map else None
    top = unit if unit_map.is_current(unit) or not todays_map else None
    levels = tuple(unit_map.levels(top, day=day, todays_map=todays_map))
    below = [lv for lv in levels if lv != unit.level]
    if compare_level is None or compare_level not in levels:
        compare_level = next((lv for lv in below if lv != UnitLevel.DEPARTMENT), below[0] if below else None)
    compared = (unit_map.areas(top, compare_level, day=day, todays_map=todays_map) if compare_level is not None
                else None)
    frame["stratum"] = frame["design_stratum"].fillna("").astype(str)  # the design's strata (one if none)
    # the PSU of the interview as collected: the copies of a split old commune's interview
    # (re-aggregated by shares below) keep their village, so they stay ONE PSU
    frame["psu"] = frame["design_psu"].where(frame["design_psu"].notna(), "unit-" + frame["unit_id"].astype(str))
    compared_frame = frame
    if compared is not None:
        compared_frame = unit_map.spread(frame, compared)
    else:
        compared_frame = frame.assign(area=-1)
    frame = unit_map.in_unit(frame, unit)  # today's unit: old units' interviews re-aggregated onto it, by shares
    frame["domain"] = frame["in_unit"].map({True: "unit", False: "other"})
    current = frame[frame["year"] == year]
    in_unit = current["domain"] == "unit"
    rows: list[dict[str, object]] = []
    df: float | None = None
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu", lonely_psu="adjust")
    districts = _district_table(compared.units if compared is not None else [],
                                compared_frame[compared_frame["year"] == year], spec, design, confidence=confidence,
                                min_n=min_n, year=year, compare_level=compare_level)
    if in_unit.any():
        scored = score_papi(current, spec, design=design, by=["domain"], confidence=confidence,
                            min_n=min_n).to_frame()
        df = float(scored["df"].iloc[0])
        scored = scored[(scored["domain"] == "unit") & scored["kind"].isin(KINDS)].copy()
        if base is not None:  # the same villages in both years: their covariance is in the SE
            delta = change_papi(frame[frame["year"].isin([base, year])], spec, period="year", base=base,
                                current=year, design=design, by=["domain"], confidence=confidence).to_frame()
            delta = delta[delta["domain"] == "unit"].rename(columns={"estimate": "change", "se": "change_se"})
            scored = scored.merge(delta[["kind", "id", "change", "change_se", "significant"]], on=["kind", "id"],
                                  how="left")
        labels, position = {}, {"total": -1}
        for element in questionnaire.elements:  # each dimension, then its sub-dimensions
            labels[element.id] = element.label.get(language)
            position[element.id] = len(position)
            for sub in (x for x in questionnaire.subdimensions if x.element == element.id):
                labels[sub.id] = sub.label.get(language)
                position[sub.id] = len(position)
        scored["_order"] = scored["id"].map(position)
        scored = scored.sort_values("_order", kind="stable")
        ranges = score_ranges(len(spec.dimensions))
        rows = [_row(rec, labels, ranges) for rec in scored.to_dict("records")]
    goals = _goals(session, questionnaire, unit, year, frame, spec, design, rows) if year else ()
    title = " — ".join(part for part in (questionnaire.title.get(language), unit.name, year) if part)
    shares = _shares(questionnaire, current, design, confidence=confidence, min_n=min_n, language=language,
                     title=title)
    return PapiReport(
        table=ResultTable(title=title, columns=_columns(confidence), rows=tuple(rows)), years=found, year=year,
        base=base, n_responses=int(in_unit.sum()), n_villages=int(current.loc[in_unit, "psu"].nunique()), df=df,
        districts=districts, goals=goals, compare_level=compare_level, levels=levels, todays_map=todays_map,
        shares=shares, by_share=bool((in_unit & (current["share"] < 1)).any()),
    )


def yes_no_indicators(questionnaire: Questionnaire) -> list[Any]:
    """The scored yes/no questions (bounds 0–1) of a PAPI questionnaire: shown as shares."""
    return [q for q in questionnaire.scored_questions() if q.type == "yesno" and q.bounds == (0, 1)]


def _shares(questionnaire: Questionnaire, current: pd.DataFrame, design: SurveyDesign, *, confidence: float,
            min_n: int, language: str, title: str) -> ResultTable:
    """Share of the unit's households answering yes to each yes/no indicator in the year, with
    the logit interval of :func:`scoring.estimators.proportion` (``ci="logit"``) on the year's
    whole design (the unit a domain of it); one village alone: no interval."""
    from scoring.estimators import proportion

    rows: list[dict[str, object]] = []
    if (current["domain"] == "unit").any():
        for question in yes_no_indicators(questionnaire):
            rec = proportion(current, question.id, values={1}, design=design, by=["domain"], confidence=confidence,
                             ci="logit", min_n=min_n).to_frame()
            rec = rec[rec["domain"] == "unit"]
            if rec.empty or int(rec["n"].iloc[0]) == 0:
                continue
            r = rec.iloc[0]
            one_village = int(r["n_psu"]) < 2
            rows.append({
                "id": question.id, "indicator": question.indicator or "", "label": question.label.get(language),
                "n": int(r["n"]), "n_psu": int(r["n_psu"]), "estimate": number_or_none(r["estimate"]),
                "se": None if one_village else number_or_none(r["se"]),
                "ci_low": None if one_village else number_or_none(r["ci_low"]),
                "ci_high": None if one_village else number_or_none(r["ci_high"]),
                "small_sample": bool(r["small_sample"]),
            })
    columns = (
        Column("id", _("Code")), Column("indicator", _("Indicator")), Column("label", _("Item")),
        Column("n", _("Valid answers (n)")), Column("n_psu", _("Villages (PSUs)")),
        Column("estimate", _("Share answering yes"), decimals=4), Column("se", _("Standard error"), decimals=4),
        *interval_columns(confidence), Column("small_sample", _("Small sample")),
    )
    what = _("Yes/no indicators")
    return ResultTable(title=f"{title} — {what}", columns=columns, rows=tuple(rows))


def _goals(
    session: Session, questionnaire: Questionnaire, unit: Unit, year: str, frame: pd.DataFrame, spec: PapiSpec,
    design: SurveyDesign, rows: list[dict[str, object]],
) -> tuple[dict[str, object], ...]:
    """The unit's goals for this year or later, each beside the score of ``year``: the target
    value (a percentage goal is computed on the base year's score), gap, whether it is reached,
    and the progress since the base year (:func:`scoring.compare.progress`)."""
    from scoring.compare import progress
    from scoring.papi import score_papi

    targets = session.scalars(select(Target).where(
        Target.unit_id == unit.id, Target.questionnaire_id == questionnaire.id, Target.year >= int(year))
        .order_by(Target.year, Target.id)).all()
    if not targets:
        return ()
    scores = {str(r["id"]): r["estimate"] for r in rows}
    base_scores: dict[int, dict[str, float]] = {}
    for base_year in {t.base_year for t in targets if t.base_year is not None}:
        then = frame[frame["year"] == str(base_year)]
        if (then["domain"] == "unit").any():
            scored = score_papi(then, spec, design=design, by=["domain"]).to_frame()
            scored = scored[scored["domain"] == "unit"]
            base_scores[base_year] = dict(zip(scored["id"].astype(str), scored["estimate"].astype(float), strict=True))
    goals = []
    for target in targets:
        current = scores.get(target.score_id)
        base = base_scores.get(target.base_year, {}).get(target.score_id) if target.base_year else None
        row: dict[str, object] = {"target": target, "current": current, "base": base, "value": None,
                                  "gap": None, "achieved": None, "progress": None}
        if target.kind == TargetKind.SCORE or base is not None:
            out = progress(pd.Series([current], dtype=float),
                           target=target.value if target.kind == TargetKind.SCORE else None,
                           base=None if base is None else pd.Series([base]),
                           percent_increase=target.value if target.kind == TargetKind.INCREASE_PCT else None)
            first = out.iloc[0]
            row.update(value=float(first["target"]), gap=number_or_none(first["gap"]),
                       achieved=None if current is None else bool(first["achieved"]),
                       progress=number_or_none(first["progress"]) if "progress" in out else None)
        goals.append(row)
    return tuple(goals)


def _district_table(
    units: list[Unit], current: pd.DataFrame, spec: PapiSpec, design: SurveyDesign, *, confidence: float, min_n: int,
    year: str | None, compare_level: UnitLevel | None = None,
) -> ResultTable:
    """Every compared unit's PAPI total in the year (each a domain of the sample), ranked with a rank interval from bootstrap replicates of the same design
    (:data:`RANK_REPLICATES` Rao–Wu replicates, a fixed seed so a page shows the same interval
    each time); districts flagged as small samples (too few answers or villages) are listed but
    neither ranked nor grouped."""
    from scoring.compare import groups, rank, score_rank_intervals
    from scoring.papi import papi_plan, score_papi
    from survey.store.units import level_name

    table = pd.DataFrame({"area": [u.id for u in units]})
    if len(current) and len(units):
        scored = score_papi(current, spec, design=design, by=["area"], confidence=confidence, min_n=min_n).to_frame()
        scored = scored[scored["kind"] == "total"][["area", "n", "n_psu", "estimate", "ci_low", "ci_high",
                                                     "small_sample"]]
        table = table.merge(scored, on="area", how="left")
        table["small_sample"] = table["small_sample"].fillna(True)
    else:
        table = table.assign(n=0, n_psu=0, estimate=float("nan"), ci_low=float("nan"), ci_high=float("nan"),
                             small_sample=True)
    eligible = table["estimate"].where(table["small_sample"].eq(False)).astype(float)
    table["rank"], table["group"] = rank(eligible), groups(eligible)
    ranked = table.loc[eligible.notna(), "area"].tolist()
    if len(ranked) > 1:
        boot = replace(design, variance="bootstrap", replicates=RANK_REPLICATES, seed=RANK_SEED)
        intervals = score_rank_intervals(current, papi_plan(current, spec), score="total", unit="area",
                                         design=boot, confidence=confidence, units=ranked)
        table = table.merge(intervals[["area", "rank_low", "rank_high"]], on="area", how="left")
    else:
        table = table.assign(rank_low=table["rank"], rank_high=table["rank"])
    table["_order"] = range(len(table))  # Vietnamese order of names breaks ties and orders the unranked
    table = table.sort_values(["rank", "_order"], na_position="last", kind="stable")
    by_id = {u.id: u for u in units}
    low, high = score_ranges(len(spec.dimensions))["total"]
    rows = tuple({
        "rank": whole_or_none(rec["rank"]),
        "rank_low": whole_or_none(rec["rank_low"]),
        "rank_high": whole_or_none(rec["rank_high"]),
        "code": by_id[int(rec["area"])].code,
        "unit": by_id[int(rec["area"])].name,
        "n": whole_or_none(rec["n"]) or 0,
        "n_psu": whole_or_none(rec["n_psu"]) or 0,
        "estimate": number_or_none(rec["estimate"]),
        "ci_low": clamp(rec["ci_low"], low, high),
        "ci_high": clamp(rec["ci_high"], low, high),
        "group": whole_or_none(rec["group"]),
        "small_sample": flag_or_none(rec["small_sample"]) is not False,
    } for rec in table.to_dict("records"))
    percent = round(confidence * 100)
    columns = (
        Column("rank", _("Rank")),
        Column("rank_low", _("%(level)s%% rank interval: best", level=percent)),
        Column("rank_high", _("%(level)s%% rank interval: worst", level=percent)),
        Column("code", _("Code")), Column("unit", _("Unit")),
        Column("n", _("Valid answers (n)")), Column("n_psu", _("Villages (PSUs)")),
        Column("estimate", _("PAPI total"), decimals=4),
        *interval_columns(confidence),
        Column("group", _("Group")), Column("small_sample", _("Small sample")),
    )
    title = _("Units compared: %(level)s", level=level_name(compare_level)) if compare_level else _("Units compared")
    return ResultTable(title=f"{title} — {year or '—'}", columns=columns, rows=rows)


def _row(rec: Mapping[Hashable, Any], labels: dict[str, str],
         ranges: dict[str, tuple[float, float]]) -> dict[str, object]:
    kind = str(rec["kind"])
    low, high = ranges[kind]  # the possible range: a Wald interval is cut there
    ci_low, ci_high, se = number_or_none(rec["ci_low"]), number_or_none(rec["ci_high"]), number_or_none(rec["se"])
    change_se = number_or_none(rec.get("change_se"))
    significant = flag_or_none(rec.get("significant"))
    if int(rec["n_psu"]) < 2:  # one village: its answers say nothing about the spread between villages
        ci_low = ci_high = se = change_se = None
        significant = None
    return {
        "kind": {"total": _("PAPI total"), "dimension": _("Dimension"), "sub_dimension": _("Sub-dimension")}[kind],
        "id": rec["id"],
        "label": _("PAPI total") if kind == "total" else labels.get(str(rec["id"]), str(rec["id"])),
        "n": int(rec["n"]),
        "n_psu": int(rec["n_psu"]),
        "estimate": number_or_none(rec["estimate"]),
        "se": se,
        "ci_low": clamp(ci_low, low, high),
        "ci_high": clamp(ci_high, low, high),
        "change": number_or_none(rec.get("change")),
        "change_se": change_se,
        "significant": significant,
        "small_sample": bool(rec["small_sample"]),
        "_kind": kind,
    }


def _columns(confidence: float) -> tuple[Column, ...]:
    return (
        Column("kind", _("Kind")),
        Column("id", _("Code")),
        Column("label", _("Item")),
        Column("n", _("Valid answers (n)")),
        Column("n_psu", _("Villages (PSUs)")),
        Column("estimate", _("Score"), decimals=4),
        Column("se", _("Standard error"), decimals=4),
        *interval_columns(confidence),
        Column("change", _("Change since the previous year"), decimals=4),
        Column("change_se", _("Standard error of the change"), decimals=4),
        Column("significant", _("Significant change")),
        Column("small_sample", _("Small sample")),
    )
