"""Ranking units on the SIPAS overall index for a quarter, as a Department of Home Affairs reports it.

Every unit of the chosen level under the chosen parent (by default the province: its communes and
wards, its departments; for a quarter before July 2025, its old districts) is a domain of the full
sample, with the responses of every unit below it — on today's map (old units' responses
re-aggregated onto the units they became) or on the map of the quarter (as published then). The
levels are those that exist on that map (:meth:`survey.store.units.UnitMap.levels`), and the
parent's own index (the province-wide figure) heads the table. For the chosen quarter each unit gets its overall satisfaction
index with n and a confidence interval, its change since the previous quarter (with the standard
error of the difference and a significance flag, :func:`scoring.compare.change_sipas`), a rank
and a performance group (nhóm 1–4, :func:`scoring.compare.groups`). Units with fewer valid
answers than the publication minimum are listed but neither ranked nor grouped: their interval
is too wide to place them. Each rank carries its 95% interval: the ranks of the units in draws
of their indices from N(estimate, SE²) — the units' respondents are disjoint, so their estimates
are independent — as ``scoring.sae.posterior_rank_intervals`` does (never a point rank alone).
Beside the direct index stands the modelled index of the Fay–Herriot model (``scoring.sae``,
REML, on the units' stored covariates — :mod:`survey.reports.covariates` — and urban wards vs
rural communes from the official list): the direct index shrunk toward
what the model predicts, most for units with few answers, and a synthetic estimate for a unit
without responses, labelled as modelled, with its MSE-based interval. The median, highest and
lowest index over the ranked units close the table, like the official sheets.
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
from survey.periods import previous_quarter, quarters
from survey.reports.frames import responses_frame
from survey.reports.rollups import Cells
from survey.reports.sipas_tables import (
    bounded,
    flag_or_none,
    interval_columns,
    number_or_none,
    sipas_spec,
    whole_or_none,
)
from survey.reports.small_area import ModelInfo
from survey.store.models import Service, Target, TargetKind, Unit, UnitLevel
from survey.text import sort_key

RANKED_LEVELS = (UnitLevel.DISTRICT, UnitLevel.COMMUNE)  # the levels of before July 2025 (kept for callers)


@dataclass(frozen=True)
class Ranking:
    table: ResultTable
    periods: tuple[str, ...]  # quarters with responses, oldest first
    period: str | None  # the quarter ranked (None: no responses at all)
    base: str | None  # the previous quarter, when it has responses
    summary: dict[str, float | None]  # median, highest, lowest overall index over ranked units
    parent: dict[str, object] | None = None  # the parent's own index (the province-wide figure), as a row
    todays_map: bool = True  # units of today's map (old units' responses re-aggregated onto them)
    model: ModelInfo | None = None  # what produced the modelled indices (None: no model fitted)
    model_covariates: tuple[str, ...] = ()  # the model's covariates, labelled in the page's language
    by_share: bool = False  # a split old commune's responses counted in its parts by their shares


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
    parent: Unit | None = None, todays_map: bool = True,
) -> Ranking:
    """Rank the units of ``level`` under ``parent`` (None: the top of today's map) on
    ``questionnaire``'s overall index in ``period`` (default: the latest quarter with responses),
    for one service or all of them, on today's map or (``todays_map=False``) the quarter's."""
    from survey.reports.rollups import usable
    from survey.store.units import UnitMap, quarter_days, then_day

    cells = usable(session, questionnaire, service.id if service else None)
    frame = None
    if cells is not None:
        periods = tuple(sorted(cells.frame.loc[cells.frame["n_responses"] > 0, "period"].unique()))
    else:
        frame = _frame(session, questionnaire, service)
        periods = tuple(sorted(frame["period"].unique()))
    if period is None and periods:
        period = periods[-1]
    unit_map = UnitMap(session)
    if parent is None:
        parent = next(iter(unit_map.tree(unit_map.now).roots()), None)
    todays_map = todays_map or period is None or not unit_map.is_old_period(*quarter_days(period))
    day = then_day(*quarter_days(period)) if period else None
    chosen = unit_map.areas(parent, level, day=day, todays_map=todays_map)
    units, areas = chosen.units, chosen.area_of
    inside = unit_map.counted_in(parent) if parent is not None else set(unit_map.units)
    base = previous_quarter(period) if period else None
    base = base if base in periods else None
    if cells is not None:
        # A split old commune's responses are spread over its parts with fractional weights: the
        # cells (whole responses of one stored unit) cannot say that, so the microdata answers.
        split = set(unit_map.shares(chosen.day)) if chosen.todays_map else set()
        if split & set(cells.frame["unit_id"].unique()):
            cells = None
            frame = _frame(session, questionnaire, service)
    if cells is not None:
        scores, parent_row, changes = _rolled_scores(cells, areas, inside, parent, period, periods, base, confidence)
    if frame is not None:
        frame, scores, parent_row, changes = _micro_scores(frame, unit_map, chosen, areas, inside, parent, period,
                                                           periods, base, questionnaire, confidence)
    table = pd.DataFrame({"area": [u.id for u in units]})
    table = table.merge(scores, on="area", how="left").merge(changes, on="area", how="left")
    goals = _goals(session, questionnaire, frame, table, period, confidence,
                   rolled=(cells, areas) if cells is not None else None)
    table = table.merge(goals, on="area", how="left")
    return _finish(session, table, units, min_n, confidence, language, questionnaire, service, period, periods,
                   base, parent_row, parent, todays_map, frame)


def _frame(session: Session, questionnaire: Questionnaire, service: Service | None) -> pd.DataFrame:
    frame = responses_frame(session, questionnaire, service_ids=[service.id] if service else None)
    frame["period"] = quarters(frame["submitted_at"])
    return frame


def _rolled_scores(
    cells: Cells, areas: dict[int, int], inside: set[int], parent: Unit | None, period: str | None,
    periods: tuple[str, ...], base: str | None, confidence: float,
) -> tuple[pd.DataFrame, dict[Hashable, Any] | None, pd.DataFrame]:
    """The ranking's scores, parent row and changes from the rollups: the same domains of the
    same full sample as :func:`_micro_scores` (each response its own PSU)."""
    from scoring.sums import change_table_from_sums
    from survey.reports.rollups import grouped, score

    scores = pd.DataFrame(columns=["area", "n", "n_psu", "estimate", "se", "ci_low", "ci_high"])
    changes = pd.DataFrame(columns=["area", "change", "change_se", "significant"])
    parent_row: dict[Hashable, Any] | None = None
    if period not in periods:
        return scores, parent_row, changes
    area = cells.frame["unit_id"].map(areas).fillna(-1).astype(int)
    now = (cells.frame["period"] == period).to_numpy()
    ranked = now & (area >= 0).to_numpy()
    levels, sums = grouped(cells, ranked, area)
    if len(levels):
        scored = score(cells, sums, pd.DataFrame({"area": levels}), confidence)
        scores = scored[scored["kind"] == "overall"][["area", "n", "n_psu", "estimate", "se", "ci_low", "ci_high"]]
    if parent is not None:
        mine = now & cells.frame["unit_id"].isin(inside).to_numpy()
        if mine.any():
            whole = score(cells, cells.total(mine)[None, :], pd.DataFrame({"parent": [True]}), confidence)
            rec = whole[whole["kind"] == "overall"].iloc[0]
            parent_row = {"area": parent.id, "n": int(rec["n"]), "estimate": rec["estimate"],
                          "ci_low": rec["ci_low"], "ci_high": rec["ci_high"], "rank": None, "group": None}
    if base is not None:
        present = np.asarray(sorted(a for a in area.unique() if a >= 0))
        if len(present):
            def by_area(mask: np.ndarray) -> np.ndarray:
                found, summed = grouped(cells, mask & (area >= 0).to_numpy(), area)
                out = np.zeros((len(present), cells.layout.sums.size))
                out[np.searchsorted(present, found)] = summed
                return out

            before = (cells.frame["period"] == base).to_numpy()
            delta = change_table_from_sums(cells.layout.sums, by_area(now), by_area(before),
                                           pd.DataFrame({"area": present}), n_total=cells.n_total,
                                           confidence=confidence)
            delta = delta[delta["kind"] == "overall"]
            changes = delta.rename(columns={"estimate": "change", "se": "change_se"})[
                ["area", "change", "change_se", "significant"]]
    return scores, parent_row, changes


def _micro_scores(
    frame: pd.DataFrame, unit_map: Any, chosen: Any, areas: dict[int, int], inside: set[int], parent: Unit | None,
    period: str | None, periods: tuple[str, ...], base: str | None, questionnaire: Questionnaire, confidence: float,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[Hashable, Any] | None, pd.DataFrame]:
    """The ranking's scores, parent row and changes from the microdata (and the spread frame)."""
    from scoring.compare import change_sipas
    from scoring.design import SurveyDesign
    from scoring.sipas import score_sipas

    frame["area"] = frame["unit_id"].map(areas).fillna(-1).astype(int)  # -1: above the level (province desks)
    frame["parent"] = frame["unit_id"].isin(inside)
    frame["cluster"] = frame["response_id"]
    whole_frame = frame  # the province-wide figure counts every response once
    # a split old commune's responses go to its parts by their shares, each response ONE PSU
    # (``cluster``): its copies in two areas are not two independent observations
    frame = unit_map.spread(frame, chosen)
    scores = pd.DataFrame(columns=["area", "n", "n_psu", "estimate", "se", "ci_low", "ci_high"])
    parent_row: dict[Hashable, Any] | None = None
    changes = pd.DataFrame(columns=["area", "change", "change_se", "significant"])
    if period in periods:
        spec = sipas_spec(questionnaire)
        design = SurveyDesign(weight="weight", psu="cluster")
        scored = score_sipas(frame, spec, design=design, by=["period", "area"], confidence=confidence).to_frame()
        scored = scored[(scored["kind"] == "overall") & (scored["period"] == period) & (scored["area"] >= 0)]
        scores = scored[["area", "n", "n_psu", "estimate", "se", "ci_low", "ci_high"]]
        if parent is not None:
            whole = score_sipas(whole_frame, spec, design=design, by=["period", "parent"],
                                confidence=confidence).to_frame()
            whole = whole[(whole["kind"] == "overall") & (whole["period"] == period) & whole["parent"].astype(bool)]
            if len(whole):
                rec = whole.iloc[0]
                parent_row = {"area": parent.id, "n": int(rec["n"]), "estimate": rec["estimate"],
                              "ci_low": rec["ci_low"], "ci_high": rec["ci_high"], "rank": None, "group": None}
        if base is not None:
            delta = change_sipas(frame, spec, period="period", base=base, current=period, design=design,
                                 by=["area"], confidence=confidence).to_frame()
            delta = delta[(delta["kind"] == "overall") & (delta["area"] >= 0)]
            changes = delta.rename(columns={"estimate": "change", "se": "change_se"})[
                ["area", "change", "change_se", "significant"]]
    return frame, scores, parent_row, changes


def _finish(
    session: Session, table: pd.DataFrame, units: list[Unit], min_n: int, confidence: float, language: str,
    questionnaire: Questionnaire, service: Service | None, period: str | None, periods: tuple[str, ...],
    base: str | None, parent_row: dict[Hashable, Any] | None, parent: Unit | None, todays_map: bool,
    frame: pd.DataFrame | None,
) -> Ranking:
    """The ranked table's ranks, groups, rank intervals, modelled indices and order. ``frame``:
    the microdata spread onto the ranked areas (None when the rollups answered: then no response
    is in two areas, and the rank intervals come from independent draws)."""
    from scoring.compare import groups, rank

    table["n"] = table["n"].fillna(0).astype(int)
    eligible = table["estimate"].where(table["n"] >= min_n)
    table["rank"] = rank(eligible.astype(float))
    table["group"] = groups(eligible.astype(float))
    shared = None
    if frame is not None:
        shared = frame[(frame["period"] == period) & (frame["area"] >= 0)] if period in periods else frame.iloc[:0]
    table = table.merge(_rank_intervals(table, eligible, confidence, shared, questionnaire), on="area", how="left")
    modelled = _modelled(session, table, units, confidence)
    model = table.attrs.get("model")
    table = table.merge(modelled, on="area", how="left")
    order = {u.id: n for n, u in enumerate(units)}
    table["_order"] = table["area"].map(order)
    table = table.sort_values(["rank", "_order"], na_position="last", kind="stable")
    by_id = {u.id: u for u in units}
    rows = tuple(_row(rec, by_id[int(rec["area"])], min_n, language) for rec in table.to_dict("records"))
    ranked = eligible.dropna()
    summary = {
        "median": float(np.median(ranked)) if len(ranked) else None,
        "highest": float(ranked.max()) if len(ranked) else None,
        "lowest": float(ranked.min()) if len(ranked) else None,
    }
    what = service.name(language) if service else _("All services")
    title = f"{questionnaire.title.get(language)} — {what} — {period or '—'}"
    head = (_row(parent_row, parent, min_n, language),) if parent_row is not None and parent is not None else ()
    return Ranking(ResultTable(title=title, columns=_columns(confidence), rows=head + rows), periods, period, base,
                   summary, parent=head[0] if head else None, todays_map=todays_map, model=model,
                   model_covariates=_covariate_labels(model, language),
                   by_share=frame is not None and "share" in frame
                   and bool(((frame["share"] < 1) & (frame["period"] == period)).any()))


@dataclass(frozen=True)
class DeskLevel:
    """The one-stop desks (Bộ phận Một cửa) of the units under a parent, as a ranking level."""

    value: str = "desk"


DESKS = DeskLevel()


def desk_ranking(
    session: Session, questionnaire: Questionnaire, *, service: Service | None, period: str | None, language: str,
    confidence: float = 0.95, min_n: int = 30, parent: Unit | None = None,
) -> Ranking:
    """Rank the one-stop desks of the units under ``parent`` (the province's departments, its
    communes' desks) on ``questionnaire``'s overall index in ``period``, like the units: each
    desk is a domain of the full sample (its responses: those given at its kiosk), with its
    interval, change, rank with its 95% rank interval, and group; too few answers: listed, not
    ranked. No modelled index: a desk has no area covariates."""
    from scoring.compare import change_sipas, groups, rank
    from scoring.design import SurveyDesign
    from scoring.sipas import score_sipas
    from survey.store.models import Desk, Response
    from survey.store.units import UnitMap

    frame = responses_frame(session, questionnaire, service_ids=[service.id] if service else None)
    frame["period"] = quarters(frame["submitted_at"])
    periods = tuple(sorted(frame["period"].unique()))
    if period is None and periods:
        period = periods[-1]
    unit_map = UnitMap(session)
    if parent is None:
        parent = next(iter(unit_map.tree(unit_map.now).roots()), None)
    inside = unit_map.counted_in(parent) if parent is not None else set(unit_map.units)
    desks = sorted((d for d in session.scalars(select(Desk)) if d.unit_id in inside),
                   key=lambda d: (sort_key(d.unit.name), sort_key(d.name)))
    at_desk = {rid: did for rid, did in session.execute(select(Response.id, Response.desk_id).where(
        Response.questionnaire_id == questionnaire.id, Response.desk_id.is_not(None)))}
    frame["area"] = frame["response_id"].map(at_desk).fillna(-1).astype(int)
    frame.loc[~frame["area"].isin({d.id for d in desks}), "area"] = -1
    base = previous_quarter(period) if period else None
    base = base if base in periods else None
    scores = pd.DataFrame(columns=["area", "n", "n_psu", "estimate", "se", "ci_low", "ci_high"])
    changes = pd.DataFrame(columns=["area", "change", "change_se", "significant"])
    if period in periods and (frame["area"] >= 0).any():
        spec = sipas_spec(questionnaire)
        design = SurveyDesign(weight="weight")
        scored = score_sipas(frame, spec, design=design, by=["period", "area"], confidence=confidence).to_frame()
        scored = scored[(scored["kind"] == "overall") & (scored["period"] == period) & (scored["area"] >= 0)]
        scores = scored[["area", "n", "n_psu", "estimate", "se", "ci_low", "ci_high"]]
        if base is not None:
            delta = change_sipas(frame, spec, period="period", base=base, current=period, design=design,
                                 by=["area"], confidence=confidence).to_frame()
            delta = delta[(delta["kind"] == "overall") & (delta["area"] >= 0)]
            changes = delta.rename(columns={"estimate": "change", "se": "change_se"})[
                ["area", "change", "change_se", "significant"]]
    table = pd.DataFrame({"area": [d.id for d in desks]})
    table = table.merge(scores, on="area", how="left").merge(changes, on="area", how="left")
    table["n"] = table["n"].fillna(0).astype(int)
    eligible = table["estimate"].where(table["n"] >= min_n)
    table["rank"] = rank(eligible.astype(float))
    table["group"] = groups(eligible.astype(float))
    table = table.merge(_rank_intervals(table, eligible, confidence), on="area", how="left")
    order = {d.id: n for n, d in enumerate(desks)}
    table["_order"] = table["area"].map(order)
    table = table.sort_values(["rank", "_order"], na_position="last", kind="stable")
    by_id = {d.id: d for d in desks}
    rows = []
    for rec in table.to_dict("records"):
        desk = by_id[int(rec["area"])]
        row = _row(rec, desk.unit, min_n, language)
        row.update(code=desk.code, unit=f"{desk.name} — {desk.unit.name}", kind=_("One-stop desk"))
        rows.append(row)
    ranked = eligible.dropna()
    summary = {
        "median": float(np.median(ranked)) if len(ranked) else None,
        "highest": float(ranked.max()) if len(ranked) else None,
        "lowest": float(ranked.min()) if len(ranked) else None,
    }
    what = service.name(language) if service else _("All services")
    desks_label = _("One-stop desks")
    title = f"{questionnaire.title.get(language)} — {desks_label} — {what} — {period or '—'}"
    return Ranking(ResultTable(title=title, columns=_columns(confidence), rows=tuple(rows)), periods, period, base,
                   summary)


SE_FLOOR = 1e-9  # below it an SE is rounding noise, not a sampling variance (_modelled)
RANK_DRAWS = 1000  # draws of the indices behind each rank interval
RANK_SEED = 2026
RANK_REPLICATES = 500  # bootstrap replicates behind the rank intervals of units sharing responses


def _overall_only(plan: Any) -> Any:
    """The part of a SIPAS plan the overall index uses (as the release builder's)."""
    from scoring.composites import LinearPlan

    j = plan.ids.index("overall")
    used = plan.coef[:, j] != 0
    return LinearPlan(y=plan.y[:, used], coef=plan.coef[used][:, [j]], offset=plan.offset[[j]],
                      kinds=("overall",), ids=("overall",))


def _rank_intervals(table: pd.DataFrame, eligible: pd.Series, confidence: float,
                    frame: pd.DataFrame | None = None, questionnaire: Questionnaire | None = None) -> pd.DataFrame:
    """Rank intervals of the ranked units from draws of N(estimate, SE²) — the units' respondents
    are disjoint, so their estimates are independent. Where they are not (``frame``, the quarter's
    rows by ``area``, has a response of a split old commune in two ranked units, re-aggregated by
    shares), independent draws would treat its copies as separate respondents: the intervals come
    from Rao–Wu bootstrap replicates that resample whole responses (``cluster``) instead, so the
    two units' estimates move together as they do."""
    from scoring.sae import posterior_rank_intervals

    ranked = table[eligible.notna() & table["se"].notna()]
    if len(ranked) < 2:
        return pd.DataFrame({"area": ranked["area"], "rank_low": ranked["rank"], "rank_high": ranked["rank"]})
    if frame is not None and questionnaire is not None and "cluster" in frame.columns:
        mine = frame[frame["area"].isin(set(ranked["area"]))]
        if mine["cluster"].duplicated().any():
            from dataclasses import replace

            from scoring.compare import score_rank_intervals
            from scoring.design import SurveyDesign
            from scoring.sipas import sipas_plan

            boot = replace(SurveyDesign(weight="weight", psu="cluster"), variance="bootstrap",
                           replicates=RANK_REPLICATES, seed=RANK_SEED)
            found = score_rank_intervals(mine, _overall_only(sipas_plan(mine, sipas_spec(questionnaire))),
                                         score="overall", unit="area", design=boot, confidence=confidence,
                                         units=list(ranked["area"]))
            return found[["area", "rank_low", "rank_high"]].astype({"area": int})
    draws = pd.DataFrame({"area": ranked["area"], "estimate": ranked["estimate"].astype(float),
                          "mse": ranked["se"].astype(float) ** 2})
    out = posterior_rank_intervals(draws, area="area", confidence=confidence, draws=RANK_DRAWS, seed=RANK_SEED)
    return out[["area", "rank_low", "rank_high"]]


def _covariate_labels(model: ModelInfo | None, language: str) -> tuple[str, ...]:
    from survey.reports.covariates import label

    return tuple(label(name, language) for name in model.covariates) if model is not None else ()


def _modelled(session: Session, table: pd.DataFrame, units: list[Unit], confidence: float) -> pd.DataFrame:
    """Fay–Herriot modelled index per unit (sampled or not, :mod:`survey.reports.small_area`, on
    the units' stored covariates), or nothing when too few units have a direct index with a
    positive variance to fit the model."""
    from survey.reports.covariates import unit_covariates
    from survey.reports.small_area import modelled_indices

    empty = pd.DataFrame({"area": pd.Series(dtype=int), "modelled": pd.Series(dtype=float),
                          "modelled_low": pd.Series(dtype=float), "modelled_high": pd.Series(dtype=float),
                          "modelled_kind": pd.Series(dtype=object)})
    # An SE that is zero to rounding (one answer, or every answer alike) is no sampling variance the
    # model can weigh: whether it came out as 0 or 1e-17 must not decide the model (rollups vs microdata).
    sampled = table[(table["n"] > 0) & (table["se"] > SE_FLOOR)]
    direct = pd.DataFrame({"area": sampled["area"], "direct": sampled["estimate"].astype(float),
                           "variance": sampled["se"].astype(float) ** 2, "n": sampled["n"],
                           "n_eff": sampled["n"].astype(float), "n_psu": sampled["n"], "deff": 1.0})
    found = modelled_indices(direct, unit_covariates(session, units), confidence=confidence)
    if found is None:
        return empty
    out, info = found
    table.attrs["model"] = info
    return pd.DataFrame({"area": out["area"], "modelled": out["estimate"], "modelled_low": out["ci_low"],
                         "modelled_high": out["ci_high"], "modelled_kind": out["kind"]})


def _goals(
    session: Session, questionnaire: Questionnaire, frame: pd.DataFrame | None, table: pd.DataFrame,
    period: str | None, confidence: float, rolled: tuple[Cells, dict[int, int]] | None = None,
) -> pd.DataFrame:
    """Each unit's satisfaction goal for the year of ``period`` (targets on ``overall``): the goal
    value — for a percent rise, computed on the unit's index over the whole base year — and
    whether the quarter's index reaches it (:func:`scoring.compare.progress`). The base year's
    indices come from the microdata ``frame``, or from the rollups (``rolled``: the cells and
    the area of each stored unit) when the ranking reads them."""
    from scoring.compare import progress
    from scoring.design import SurveyDesign
    from scoring.sipas import score_sipas

    empty = pd.DataFrame({"area": pd.Series(dtype=int), "goal": pd.Series(dtype=float),
                          "goal_reached": pd.Series(dtype=object)})
    if period is None:
        return empty
    targets = session.scalars(select(Target).where(
        Target.questionnaire_id == questionnaire.id, Target.score_id == "overall", Target.year == int(period[:4]),
        Target.unit_id.in_([int(a) for a in table["area"]]))).all()
    if not targets:
        return empty
    base_years = {t.base_year for t in targets if t.kind == TargetKind.INCREASE_PCT and t.base_year}
    base_scores: dict[tuple[int, int], float] = {}
    if base_years and rolled is not None:
        from survey.reports.rollups import grouped, score

        cells, areas = rolled
        area = cells.frame["unit_id"].map(areas).fillna(-1).astype(int)
        for year in sorted(base_years):
            found, summed = grouped(cells, (cells.frame["year"] == year).to_numpy(), area)
            if len(found):
                then = score(cells, summed, pd.DataFrame({"area": found}), confidence)
                then = then[then["kind"] == "overall"]
                base_scores.update({(int(year), int(a)): float(e) for a, e in zip(then["area"], then["estimate"],
                                                                                   strict=True)})
    elif base_years and frame is not None:
        years = frame.assign(year=frame["period"].str[:4].astype(int))
        then = score_sipas(years, sipas_spec(questionnaire), design=SurveyDesign(weight="weight"),
                           by=["year", "area"], confidence=confidence).to_frame()
        then = then[(then["kind"] == "overall") & then["year"].isin(base_years)]
        base_scores = {(int(y), int(a)): float(e) for y, a, e in zip(then["year"], then["area"], then["estimate"],
                                                                      strict=True)}
    estimates = dict(zip(table["area"], table["estimate"], strict=True))
    rows = []
    for target in targets:
        current = pd.Series([estimates.get(target.unit_id)], dtype=float)
        if target.kind == TargetKind.SCORE:
            out = progress(current, target=target.value)
        else:
            base = base_scores.get((target.base_year or 0, target.unit_id))
            if base is None:
                rows.append({"area": target.unit_id, "goal": float("nan"), "goal_reached": None})
                continue
            out = progress(current, base=pd.Series([base]), percent_increase=target.value)
        reached = None if current.isna().iloc[0] else bool(out["achieved"].iloc[0])
        rows.append({"area": target.unit_id, "goal": float(out["target"].iloc[0]), "goal_reached": reached})
    return pd.DataFrame(rows) if rows else empty


def _row(rec: Mapping[Hashable, Any], unit: Unit, min_n: int, language: str = "vi") -> dict[str, object]:
    from survey.store.units import kind_label

    n = int(rec["n"])
    one_psu = number_or_none(rec.get("n_psu")) == 1  # one PSU says nothing of the spread: no interval
    return {
        "rank": whole_or_none(rec["rank"]),
        "rank_low": whole_or_none(rec.get("rank_low")),
        "rank_high": whole_or_none(rec.get("rank_high")),
        "code": unit.code,
        "unit": unit.name,
        "kind": kind_label(unit.kind, language),
        "n": n,
        "estimate": number_or_none(rec["estimate"]),
        "se": number_or_none(rec.get("se")),
        "ci_low": None if one_psu else bounded(rec["ci_low"], "overall"),
        "ci_high": None if one_psu else bounded(rec["ci_high"], "overall"),
        "change": number_or_none(rec.get("change")),
        "change_se": number_or_none(rec.get("change_se")),
        # No change without an index in both quarters: then no flag either (not "not significant").
        "significant": flag_or_none(rec.get("significant")) if number_or_none(rec.get("change")) is not None else None,
        "group": whole_or_none(rec["group"]),
        "modelled": number_or_none(rec.get("modelled")),
        "modelled_low": number_or_none(rec.get("modelled_low")),
        "modelled_high": number_or_none(rec.get("modelled_high")),
        "modelled_synthetic": rec.get("modelled_kind") == "synthetic",
        "goal": number_or_none(rec.get("goal")),
        "goal_reached": flag_or_none(rec.get("goal_reached")),
        "small_sample": 0 < n < min_n,
    }


def _columns(confidence: float) -> tuple[Column, ...]:
    return (
        Column("rank", _("Rank")),
        Column("rank_low", _("%(level)s%% rank interval: best", level=round(confidence * 100))),
        Column("rank_high", _("%(level)s%% rank interval: worst", level=round(confidence * 100))),
        Column("code", _("Code")),
        Column("unit", _("Unit")),
        Column("kind", _("Kind of unit")),
        Column("n", _("Valid answers (n)")),
        Column("estimate", _("Overall satisfaction index"), decimals=4),
        Column("se", _("Standard error"), decimals=6),
        *interval_columns(confidence),
        Column("change", _("Change since the previous quarter"), decimals=4),
        Column("change_se", _("Standard error of the change"), decimals=4),
        Column("significant", _("Significant change")),
        Column("group", _("Group")),
        Column("modelled", _("Modelled index (Fay–Herriot estimate)"), decimals=4),
        Column("modelled_low", _("Modelled index: lower bound"), decimals=4),
        Column("modelled_high", _("Modelled index: upper bound"), decimals=4),
        Column("goal", _("Goal for the year"), decimals=4),
        Column("goal_reached", _("Goal reached")),
        Column("small_sample", _("Small sample")),
    )
