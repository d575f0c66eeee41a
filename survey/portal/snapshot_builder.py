"""Building a release snapshot (:mod:`survey.portal.snapshot`) from the stored responses.

The numbers come from the same code as the staff pages — :func:`survey.reports.frames.
responses_frame` (review status gates what counts: never a rejected response, a flagged one only
once approved), :func:`scoring.sipas.score_sipas`, :func:`scoring.compare.change_sipas`,
:func:`scoring.compare.score_rank_intervals` and :func:`survey.reports.papi_tables.papi_report` —
and, where they can answer, from the rollups of sufficient statistics with the same figures
(:mod:`survey.portal.snapshot_sample`):

- every unit shown is a domain of the release's sample (the responses of the period and of the
  period before, in the scope), with the responses of every unit below it (as R's ``svyby``);
  its index, elements, PAR 8.1 points and mean score carry Taylor-linearised intervals at the
  release's confidence level, for all services together and for each service;
- the change since the previous period of the same kind compares the index with the figure the
  previous period's published release showed, read from its stored snapshot with its SE, never
  the previous period recomputed on today's data (:mod:`survey.portal.change_since`); the release says
  which earlier releases it compared with (``release.previous_releases``, empty: none published);
- units of each level below the scope (districts, communes, departments) are ranked on the
  overall index, with 95% rank intervals from :data:`RANK_REPLICATES` Rao–Wu bootstrap
  replicates of the same design (fixed seed: a rebuild gives the same intervals), nhóm 1–4 by
  quartile (:func:`scoring.compare.groups`), the median and the best over the ranked units;
- a cell is suppressed — listed with its ``n``, numbers null, never ranked — when it has fewer
  than ``min_publish_n`` valid answers or an effective sample size below ``min_effective_n``;
- the trend is read from earlier *published* snapshots of the same scope and kind of period,
  never recomputed, so it shows what was published.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from survey.periods import VIETNAM, Period
from survey.portal.change_since import previous_published
from survey.portal.snapshot import (
    SCHEMA_VERSION,
    Change,
    ElementRow,
    IndexRow,
    Interval,
    ModelInfo,
    Modelled,
    Papi,
    PapiScore,
    PapiShare,
    QuestionnaireInfo,
    Ranking,
    RankRow,
    ReleaseInfo,
    Snapshot,
    TargetInfo,
    TrendRow,
    UnitInfo,
)
from survey.reports.sipas_tables import (
    OVERALL_RULES,
    bounded,
    number_or_none,
    scored_as_sipas,
    sipas_spec,
)
from survey.store.catalogue import latest
from survey.store.models import Release, ReleaseStatus, Service, Target, TargetKind, Unit, UnitLevel
from survey.text import sort_key

if TYPE_CHECKING:
    from scoring.composites import LinearPlan
    from scoring.design import SurveyDesign
    from scoring.sipas import SipasSpec
    from survey.portal.snapshot_sample import Sample

RANK_REPLICATES = 500  # bootstrap replicates behind every rank interval
RANK_SEED = 2026
RULES = ("par_weighted", "mean", "overall_item")  # the overall rules an analyst may choose
WEIGHTINGS = ("none", "design")
PAPI_KIND = "papi"

#: Sections other modules add to every snapshot: name → "module:function", the function taking
#: ``(session, spec, snapshot)`` and returning the section's JSON value. A one-line addition.
SECTIONS: dict[str, str] = {"admin_index": "survey.portal.admin_index:snapshot_section",
                             "boundaries": "survey.portal.boundaries:snapshot_section",
                             "quality": "survey.portal.quality_section:snapshot_section"}

ProgressFn = Callable[[int, str], None]


@dataclass(frozen=True)
class ReleaseSpec:
    """What an analyst chose for a release."""

    period: Period
    scope: str  # unit code
    questionnaires: tuple[str, ...]
    overall_rule: str | None = None  # None: each questionnaire's own rule
    methodology_version: str = "2026.1"
    weighting: str = "none"
    confidence_level: float = 0.95
    min_publish_n: int = 30
    min_effective_n: float = 20.0


class BuildFailure(Exception):
    """A release that cannot be built, for a reason staff can act on: ``code`` names the
    message (:data:`survey.portal.releases.BUILD_ERRORS`), ``params`` fill it."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(f"{code}: {params}")
        self.code = code
        self.params = params


def _no_progress(_percent: int, _stage: str) -> None:
    return None


# -- the unit tree ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Tree:
    units: dict[int, Unit]
    children: dict[int | None, list[int]]

    @classmethod
    def load(cls, session: Session) -> _Tree:
        units = {u.id: u for u in session.scalars(select(Unit))}
        children: dict[int | None, list[int]] = {}
        for unit in units.values():
            children.setdefault(unit.parent_id, []).append(unit.id)
        for ids in children.values():
            ids.sort(key=lambda i: sort_key(units[i].name))
        return cls(units, children)

    def below(self, unit_id: int) -> list[int]:
        """``unit_id`` and every unit below it, in tree order (siblings in Vietnamese order)."""
        out, stack = [], [unit_id]
        while stack:
            uid = stack.pop()
            out.append(uid)
            stack.extend(reversed(self.children.get(uid, [])))
        return out

    def areas(self, ids: Sequence[int], shown: set[int], level: UnitLevel) -> dict[int, int]:
        """For every unit of ``ids``, the shown unit of ``level`` that is it or above it."""
        out: dict[int, int] = {}
        for uid in ids:
            node: int | None = uid
            while node is not None and not (node in shown and self.units[node].level == level):
                node = self.units[node].parent_id
            if node is not None:
                out[uid] = node
        return out


# -- the builder --------------------------------------------------------------------------------

def check_spec(spec: ReleaseSpec) -> list[Questionnaire]:
    """The questionnaires of ``spec``; raises BuildFailure for a choice that cannot be built."""
    if not spec.questionnaires:
        raise BuildFailure("no_questionnaire")
    if spec.overall_rule is not None and spec.overall_rule not in RULES:
        raise BuildFailure("overall_rule", rule=spec.overall_rule)
    if spec.weighting not in WEIGHTINGS:
        raise BuildFailure("weighting", weighting=spec.weighting)
    found = []
    for qid in spec.questionnaires:
        try:
            questionnaire = latest(qid)
        except LookupError:
            raise BuildFailure("unknown_questionnaire", questionnaire=qid) from None
        if questionnaire.kind == PAPI_KIND:
            if spec.period.kind != "year":
                raise BuildFailure("papi_period", questionnaire=qid)
        elif not scored_as_sipas(questionnaire):
            raise BuildFailure("not_scored", questionnaire=qid)
        elif spec.overall_rule == "overall_item" and questionnaire.overall_question is None:
            raise BuildFailure("no_overall_item", questionnaire=qid)
        found.append(questionnaire)
    return found


def build_snapshot(session: Session, spec: ReleaseSpec, *, release: ReleaseInfo,
                   progress: ProgressFn | None = None) -> Snapshot:
    """Compute every number of a release. ``release`` is the document's release block (the
    caller's; ``status`` draft); ``progress(percent, stage)`` is told how far it has come.

    Raises BuildFailure when there is nothing to publish or a choice cannot be built."""
    report = progress or _no_progress
    questionnaires = check_spec(spec)
    tree = _Tree.load(session)
    scope = next((u for u in tree.units.values() if u.code == spec.scope), None)
    if scope is None:
        raise BuildFailure("unknown_unit", unit=spec.scope)
    context = _Context(session, spec, tree, scope)
    indices: list[IndexRow] = []
    rankings: list[Ranking] = []
    papi: Papi | None = None
    infos: list[QuestionnaireInfo] = []
    for number, questionnaire in enumerate(questionnaires):
        start, share = 5 + 85 * number // len(questionnaires), 85 // len(questionnaires)
        if questionnaire.kind == PAPI_KIND:
            report(start, "papi")
            papi = _papi(context, questionnaire)
            infos.append(_questionnaire_info(questionnaire, "papi_sum"))
            continue
        sipas = _spec(questionnaire, spec.overall_rule)
        infos.append(_questionnaire_info(questionnaire, _rule_name(sipas.overall_rule)))
        rows, ranks = _sipas(context, questionnaire, sipas, _scaled(report, start, share))
        indices.extend(rows)
        rankings.extend(ranks)
    if not any(row["n"] for row in indices) and (papi is None or not papi["n"]):
        raise BuildFailure("no_responses", period=spec.period.label_vi, unit=scope.name)
    report(92, "trend")
    release["previous_releases"] = context.previous.releases
    shown = context.shown_units(indices)
    service_codes = {row["service"] for row in indices if row["service"] is not None}
    services = sorted((s for s in session.scalars(select(Service)) if s.code in service_codes),
                      key=lambda s: sort_key(s.name_vi))
    snapshot: Snapshot = {
        "schema": SCHEMA_VERSION,
        "release": release,
        "questionnaires": infos,
        "units": shown,
        "services": [{"code": s.code, "name_vi": s.name_vi, "name_en": s.name_en} for s in services],
        "indices": indices,
        "rankings": rankings,
        "trend": _trend(session, spec, indices, release["id"]),
        "papi": papi,
        "admin_index": [],
    }
    for name, target in SECTIONS.items():
        # Cyclic garbage of the scoring above (SQLAlchemy results and cursors of the pooled SQLite
        # connection) is collected before a section queries that connection again: left to a later
        # automatic collection, the release worker crashed (SIGSEGV inside the garbage collector,
        # Python 3.11 sqlite3) right after the quality section's queries, every time, on SQLite;
        # PostgreSQL never did. The cause is not pinned down; collecting here removed the crash.
        # What gdb showed (h15f): a Unit's InstanceState.__dict__ of the reading session was
        # corrupted (its identity-map weakref freed, its key tuple at refcount −2) before the GC
        # met it; only in `hailong worker`, never when the same build runs in-process. Ruled out:
        # connections crossing threads (check_same_thread=True: no error), the pool (NullPool),
        # sqlite3's statement cache (cached_statements=0), SQLAlchemy's Cython modules. With the
        # queue on Redis instead of SqliteHuey (whose one sqlite3 connection all the consumer's
        # threads share) the same build did not crash (2 of 2); with SqliteHuey it crashed 9 runs in
        # a row, then not in the next 4: a race, not yet pinned.
        # Only there: a full collection walks every live object (≈ 0.4 s each in a worker at
        # 100,000 ratings, a third of a quarter's build from the rollups — bench/bench_release.py).
        if session.get_bind().dialect.name == "sqlite":
            gc.collect()
        module, function = target.split(":")
        snapshot[name] = getattr(importlib.import_module(module), function)(session, spec, snapshot)  # type: ignore[literal-required]
    report(100, "done")
    return snapshot


def _scaled(report: ProgressFn, start: int, share: int) -> ProgressFn:
    """``report`` for one part of the build, which runs from ``start`` to ``start + share`` percent."""
    def scaled(percent: int, stage: str) -> None:
        report(start + share * percent // 100, stage)
    return scaled


def moment(value: datetime | None = None) -> str:
    """An ISO moment in Vietnam time (now by default), as the snapshot writes them."""
    return (value or datetime.now(UTC)).astimezone(VIETNAM).isoformat(timespec="seconds")


def _spec(questionnaire: Questionnaire, rule: str | None) -> SipasSpec:
    base = sipas_spec(questionnaire)
    if rule is None:
        return base
    chosen = f"item:{questionnaire.overall_question}" if rule == "overall_item" else OVERALL_RULES[rule]
    return replace(base, overall_rule=chosen)


def _rule_name(scoring_rule: str) -> str:
    if scoring_rule.startswith("item:"):
        return "overall_item"
    return {"plain_mean": "mean"}.get(scoring_rule, scoring_rule)


def _questionnaire_info(questionnaire: Questionnaire, rule: str) -> QuestionnaireInfo:
    return {
        "id": questionnaire.id, "version": questionnaire.version, "kind": questionnaire.kind,
        "title_vi": questionnaire.title.get("vi"), "title_en": questionnaire.title.get("en"),
        "overall_rule": rule,
        "elements": [{"key": e.id, "label_vi": e.label.get("vi"), "label_en": e.label.get("en"),
                      "max_points": e.max_points} for e in questionnaire.elements],
    }


class _Context:
    """The scope, its units and the design, shared by every questionnaire of a build."""

    def __init__(self, session: Session, spec: ReleaseSpec, tree: _Tree, scope: Unit) -> None:
        from scoring.design import SurveyDesign

        self.session, self.spec, self.tree, self.scope = session, spec, tree, scope
        self.subtree = tree.below(scope.id)
        # Every unit of the scope is shown except villages (hamlets), which are shown only when
        # they have answers: kiosks stand at desks of provinces, districts, communes, departments.
        # Units are published on the map of the period: one dissolved before it began (a
        # district, valid to 2025-06-30) or created after it ended is not shown.
        self.subtree = [uid for uid in self.subtree if uid == scope.id or _valid(tree.units[uid], spec.period)]
        self.listed = {uid for uid in self.subtree
                       if uid == scope.id or tree.units[uid].level != UnitLevel.HAMLET}
        self.answered: set[int] = set()
        # the figures published for the period before (the change is measured against them)
        self.previous = previous_published(session, spec.period, scope.code)
        # (questionnaire, unit, service) → its overall record as scored, before suppression: the
        # small-area model (``_small_area``) needs the direct index of units too small to publish
        self.direct: dict[tuple[str, int, int | None], Mapping[Hashable, Any]] = {}
        self.design: SurveyDesign = SurveyDesign(weight="weight") if spec.weighting == "design" else SurveyDesign()

    def suppressed(self, n: int, n_eff: float | None) -> bool:
        return n < self.spec.min_publish_n or n_eff is None or n_eff < self.spec.min_effective_n

    def shown_units(self, indices: list[IndexRow]) -> list[UnitInfo]:
        with_rows = {row["unit"] for row in indices}
        units = [self.tree.units[uid] for uid in self.subtree if self.tree.units[uid].code in with_rows]
        codes = {u.code for u in units}
        return [{"code": u.code, "name": u.name, "kind": u.level.value,
                 "parent": u.parent.code if u.parent is not None and u.parent.code in codes else None}
                for u in units]


def _valid(unit: Unit, period: Period) -> bool:
    """Did ``unit`` exist at some time in ``period``?"""
    start, end = getattr(unit, "valid_from", None), getattr(unit, "valid_to", None)
    return (start is None or start <= period.end) and (end is None or end >= period.start)


def _interval(rec: Mapping[Hashable, Any] | None, kind: str, hidden: bool) -> Interval:
    if rec is None or hidden:
        return {"estimate": None, "se": None, "ci_low": None, "ci_high": None}
    return {"estimate": number_or_none(rec["estimate"]), "se": number_or_none(rec["se"]),
            "ci_low": bounded(rec["ci_low"], kind), "ci_high": bounded(rec["ci_high"], kind)}


def _sipas(context: _Context, questionnaire: Questionnaire, sipas: SipasSpec,
           report: ProgressFn) -> tuple[list[IndexRow], list[Ranking]]:
    """Index rows and rankings of one satisfaction questionnaire, scored in its sample
    (:func:`survey.portal.snapshot_sample.sample`: from the rollups when they can answer)."""
    from survey.portal.snapshot_sample import sample

    report(0, "reading")
    chosen = sample(context, questionnaire, sipas)
    frame = chosen.frame
    if not (frame["_p"] == "current").any():
        return [], []  # nothing in the period: no row (the build fails if no questionnaire has any)
    context.answered |= set(frame.loc[frame["_p"] == "current", "unit_id"].astype(int))
    shown = context.listed | {uid for uid in context.answered if uid in set(context.subtree)}
    codes = {uid: context.tree.units[uid].code for uid in context.subtree}
    service_codes = {s.id: s.code for s in context.session.scalars(select(Service))}
    levels = sorted({context.tree.units[uid].level for uid in shown}, key=lambda lv: _LEVEL_ORDER.get(lv, 9))
    criteria = [c for c in sipas.criteria]
    item = sipas.overall_rule[5:] if sipas.overall_rule.startswith("item:") else None
    counted = criteria + ([item] if item and item not in criteria else [])
    scale = _scale(questionnaire, counted)
    rows: dict[tuple[int, int | None], IndexRow] = {}
    rankings: list[Ranking] = []
    targets = _targets(context, questionnaire, chosen, shown)
    for step, level in enumerate(levels):
        report(100 * step // max(len(levels), 1), "scoring")
        areas = context.tree.areas(context.subtree, shown, level)
        frame["_area"] = frame["unit_id"].map(areas).fillna(-1).astype(int)
        level_units = [uid for uid in context.subtree if uid in shown and context.tree.units[uid].level == level]
        for by_service in (False, True):
            by = ["_area", "service_id"] if by_service else ["_area"]
            rows.update(_level_rows(context, questionnaire, chosen.scores(by, areas), frame, by, counted, scale,
                                    level_units, codes, service_codes, targets))
        if level != context.scope.level and len(level_units) >= 2:
            report(100 * step // max(len(levels), 1) + 50 // max(len(levels), 1), "ranking")
            current = frame[(frame["_p"] == "current") & (frame["_area"] >= 0)]
            for service_id in [None, *sorted(current["service_id"].unique().tolist())]:
                rankings.append(_ranking(context, questionnaire, sipas, current, level, level_units, service_id,
                                         rows, codes, service_codes))
    desks = _desk_ranking(context, questionnaire, sipas, chosen, service_codes)
    if desks is not None:
        rankings.append(desks)
    order = {uid: n for n, uid in enumerate(context.subtree)}
    ordered = sorted(rows.items(), key=lambda kv: (order[kv[0][0]], kv[0][1] is not None,
                                                   service_codes.get(kv[0][1] or 0, "")))
    return [row for _key, row in ordered], rankings


_LEVEL_ORDER = {UnitLevel.PROVINCE: 0, UnitLevel.DEPARTMENT: 1, UnitLevel.DISTRICT: 2, UnitLevel.COMMUNE: 3,
                UnitLevel.HAMLET: 4}


def _scale(questionnaire: Questionnaire, columns: list[str]) -> list[tuple[int, str, str]]:
    """The levels of the 5-level scale (value, label vi, label en) the criteria are answered on."""
    question = questionnaire.question(columns[0])
    return [(int(c.value), c.label.get("vi"), c.label.get("en")) for c in question.choices
            if c.scored and isinstance(c.value, int)]


def _level_rows(
    context: _Context, questionnaire: Questionnaire, scored: pd.DataFrame, frame: pd.DataFrame, by: list[str],
    counted: list[str], scale: list[tuple[int, str, str]], level_units: list[int],
    codes: dict[int, str], service_codes: dict[int, str], targets: dict[int, TargetInfo],
) -> dict[tuple[int, int | None], IndexRow]:
    """The index rows of the units of one level, for all services (``by`` = area) or each one,
    from their ``scored`` domains; ``frame``: the period's answers, for their distribution."""
    spec = context.spec
    current: dict[tuple[int, ...], dict[tuple[str, str], dict[Any, Any]]] = {}
    for rec in _records(scored):  # the period before's domains are never shown (its figures: published ones)
        if rec["_p"] == "current":
            current.setdefault(_key(rec, by), {})[(rec["kind"], rec["id"])] = rec
    # the change: against the previous period's published figures (``context.previous``), not these
    now = frame[(frame["_p"] == "current") & (frame["_area"] >= 0)]
    counts = pd.DataFrame({level: (now[counted] == level).sum(axis=1) for level, _vi, _en in scale})
    counts[by] = now[by]
    distribution = {_key(rec, by): rec for rec in _records(counts.groupby(by, as_index=False).sum())}
    keys: list[tuple[int, ...]] = list(current)
    if by == ["_area"]:
        keys = sorted(set(keys) | {(uid,) for uid in level_units})
    out: dict[tuple[int, int | None], IndexRow] = {}
    for key in keys:
        area = int(key[0])
        service = int(key[1]) if len(key) > 1 else None
        records = current.get(key, {})
        overall = records.get(("overall", "overall"))
        if overall is not None:
            context.direct[(questionnaire.id, area, service)] = overall
        n = 0 if overall is None else int(overall["n"])
        n_eff = None if overall is None else _effective_n(overall)
        hidden = context.suppressed(n, n_eff)
        change: Change | None = None if hidden else context.previous.change(
            questionnaire.id, codes[area], None if service is None else service_codes[service],
            _interval(overall, "overall", False), spec.confidence_level)
        dist = distribution.get(key)
        elements: list[ElementRow] = []
        for element in questionnaire.elements:
            er = records.get(("element", element.id))
            if er is None:
                continue
            e_n = int(er["n"])
            e_hidden = hidden or context.suppressed(e_n, _effective_n(er))
            value = _interval(er, "element", e_hidden)
            elements.append({"key": element.id, "label_vi": element.label.get("vi"),
                             "label_en": element.label.get("en"), "n": e_n, "suppressed": e_hidden,
                             "estimate": value["estimate"], "ci_low": value["ci_low"], "ci_high": value["ci_high"]})
        target = targets.get(area) if service is None else None
        if target is not None:
            target = _progress(target, None if hidden else number_or_none(overall["estimate"]) if overall else None)
        par = records.get(("par_points", "par_points"))
        out[(area, service)] = {
            "questionnaire": questionnaire.id, "unit": codes[area],
            "service": None if service is None else service_codes[service],
            "n": n, "n_eff": n_eff, "suppressed": hidden,
            "overall": _interval(overall, "overall", hidden),
            "elements": elements,
            "par_points": None if par is None else _interval(par, "par_points", hidden),
            "mean_score": _interval(records.get(("mean_score", "mean_score")), "mean_score", hidden),
            "distribution": [
                {"level": level, "label_vi": vi, "label_en": en,
                 "count": None if hidden or dist is None else int(dist[level])}
                for level, vi, en in scale],
            "change": change,
            "target": target,
        }
    return out


def _effective_n(rec: Mapping[Hashable, Any]) -> float:
    """Kish's effective sample size ``n / deff`` of an estimate; ``n`` itself where the design
    effect is undefined — equal weights (every response counting the same) have none."""
    value = number_or_none(rec["n_eff"])
    return float(rec["n"]) if value is None or not np.isfinite(value) else value


def _records(frame: pd.DataFrame) -> list[dict[Any, Any]]:
    """The rows of ``frame`` as dicts (much faster than ``DataFrame.to_dict`` on text columns)."""
    columns = list(frame.columns)
    arrays = [frame[c].to_numpy(dtype=object) for c in frame.columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*arrays, strict=True)]


def _key(rec: Mapping[Hashable, Any], by: list[str]) -> tuple[int, ...]:
    return tuple(int(rec[c]) for c in by)


def _ranking(
    context: _Context, questionnaire: Questionnaire, sipas: SipasSpec, current: pd.DataFrame, level: UnitLevel,
    level_units: list[int], service_id: int | None, rows: dict[tuple[int, int | None], IndexRow],
    codes: dict[int, str], service_codes: dict[int, str],
) -> Ranking:
    """The units of ``level`` ranked on the overall index, with rank intervals and groups."""
    from scoring.compare import groups, score_rank_intervals
    from scoring.sipas import sipas_plan

    spec = context.spec
    listed = [(uid, rows.get((uid, service_id))) for uid in level_units]
    listed = [(uid, row) for uid, row in listed if row is not None or service_id is None]
    ranked = [uid for uid, row in listed if row is not None and not row["suppressed"]]
    intervals: dict[int, tuple[int, int, int]] = {}
    if len(ranked) >= 2:
        data = current if service_id is None else current[current["service_id"] == service_id]
        data = data[data["_area"].isin(ranked)]
        boot = replace(context.design, variance="bootstrap", replicates=RANK_REPLICATES, seed=RANK_SEED)
        out = score_rank_intervals(data, _overall_only(sipas_plan(data, sipas)), score="overall", unit="_area",
                                   design=boot, confidence=spec.confidence_level, units=ranked)
        intervals = {int(r["_area"]): (int(r["rank"]), int(r["rank_low"]), int(r["rank_high"]))
                     for r in out.to_dict("records")}
    elif len(ranked) == 1:
        intervals = {ranked[0]: (1, 1, 1)}
    modelled, model = _small_area(context, questionnaire, [uid for uid, _row in listed], service_id)
    estimates = pd.Series({uid: rows[(uid, service_id)]["overall"]["estimate"] for uid in intervals}, dtype=float)
    group = groups(estimates) if len(estimates) else pd.Series(dtype=float)
    order = {uid: n for n, uid in enumerate(level_units)}
    table: list[RankRow] = []
    for uid, row in sorted(listed, key=lambda kv: (intervals.get(kv[0], (10**9,))[0], order[kv[0]])):
        rank = intervals.get(uid)
        overall = row["overall"] if row is not None else None
        table.append({
            "unit": codes[uid], "n": row["n"] if row else 0, "suppressed": True if row is None else row["suppressed"],
            "estimate": overall["estimate"] if overall else None,
            "ci_low": overall["ci_low"] if overall else None, "ci_high": overall["ci_high"] if overall else None,
            "rank": rank[0] if rank else None, "rank_low": rank[1] if rank else None,
            "rank_high": rank[2] if rank else None,
            "group": int(group[uid]) if rank and uid in group.index else None,
            "modelled": modelled.get(uid),
        })
    best = max(((r["unit"], r["estimate"]) for r in table if r["rank"] is not None and r["estimate"] is not None),
               key=lambda x: x[1], default=None)
    return {
        "questionnaire": questionnaire.id, "parent": context.scope.code, "level": level.value,
        "service": None if service_id is None else service_codes[service_id], "rows": table,
        "median": float(np.median(estimates.to_numpy())) if len(estimates) else None,
        "best": None if best is None else {"unit": best[0], "estimate": float(best[1])},
        "replicates": RANK_REPLICATES,
        "model": model,
    }


def _desk_ranking(context: _Context, questionnaire: Questionnaire, sipas: SipasSpec, chosen: Sample,
                  service_codes: dict[int, str]) -> Ranking | None:
    """The one-stop desks of the scope (its departments' and communes' desks) ranked on the
    overall index of the period, for all services: each desk a domain of the release's sample
    made of the responses given at its kiosk, suppressed like a unit, with rank intervals from
    the same bootstrap (:func:`_ranking`); ``level`` is ``"desk"`` and each row names its desk
    and unit (``name``). None when the scope has fewer than two desks."""
    from survey.store.models import Desk, Response

    inside = set(context.subtree)
    desks = sorted((d for d in context.session.scalars(select(Desk)) if d.unit_id in inside),
                   key=lambda d: (sort_key(context.tree.units[d.unit_id].name), sort_key(d.name)))
    if len(desks) < 2:
        return None
    area = {d.id: -2 - d.id for d in desks}  # negative: never a unit's id, nor -1 (no desk)
    at_desk = {rid: area[did] for rid, did in context.session.execute(  # type: ignore[index]
        select(Response.id, Response.desk_id).where(Response.questionnaire_id == questionnaire.id,
                                                    Response.desk_id.in_(list(area)), *chosen.when()))}
    frame = chosen.frame
    data = frame.assign(_area=frame["response_id"].map(at_desk).fillna(-1).astype(int))
    rows: dict[tuple[int, int | None], Any] = {}
    if (data["_area"] != -1).any():
        for rec in _records(chosen.desk_scores(data)):
            n = int(rec["n"])
            hidden = context.suppressed(n, _effective_n(rec))
            rows[(int(rec["_area"]), None)] = {"n": n, "suppressed": hidden,
                                               "overall": _interval(rec, "overall", hidden)}
    codes = {area[d.id]: d.code for d in desks}
    current = data[(data["_p"] == "current") & (data["_area"] != -1)]
    ranking = _ranking(context, questionnaire, sipas, current, UnitLevel.DEPARTMENT, [area[d.id] for d in desks],
                       None, rows, codes, service_codes)
    names = {d.code: f"{d.name} — {context.tree.units[d.unit_id].name}" for d in desks}
    for row in ranking["rows"]:
        row["name"] = names[row["unit"]]
    ranking["level"] = "desk"
    ranking["model"] = None
    return ranking


#: Levels whose units get a small-area (Fay–Herriot) modelled index in a release.
SMALL_AREA_LEVELS = (UnitLevel.COMMUNE, UnitLevel.HAMLET, UnitLevel.DISTRICT)


def _small_area(context: _Context, questionnaire: Questionnaire, units: list[int],
                service_id: int | None) -> tuple[dict[int, Modelled], ModelInfo | None]:
    """The Fay–Herriot modelled index of each unit of a ranking (:func:`survey.reports.
    small_area.modelled_indices` on the units' direct indices as scored — suppressed ones too —
    and their stored covariates), with the model's description; nothing for departments or
    when the model cannot be fitted."""
    from scoring.sae import MODELLED_LABEL
    from survey.reports.covariates import label, unit_covariates
    from survey.reports.small_area import modelled_indices

    if not units or units[0] not in context.tree.units or context.tree.units[units[0]].level not in SMALL_AREA_LEVELS:
        return {}, None
    records = [(uid, context.direct.get((questionnaire.id, uid, service_id))) for uid in units]
    direct = pd.DataFrame([{"area": uid, "direct": float(rec["estimate"]), "variance": float(rec["se"]) ** 2,
                            "n": int(rec["n"]), "n_eff": _effective_n(rec), "n_psu": int(rec["n_psu"]),
                            "deff": float(rec["deff"]) if number_or_none(rec["deff"]) is not None else np.nan}
                           for uid, rec in records if rec is not None and number_or_none(rec["se"]) is not None],
                          columns=["area", "direct", "variance", "n", "n_eff", "n_psu", "deff"])
    covariates = unit_covariates(context.session, [context.tree.units[uid] for uid in units])
    found = modelled_indices(direct, covariates, confidence=context.spec.confidence_level)
    if found is None:
        return {}, None
    table, info = found
    hidden = {uid for uid, rec in records
              if rec is None or context.suppressed(int(rec["n"]), _effective_n(rec))}
    out: dict[int, Modelled] = {
        int(r["area"]): {"estimate": float(r["estimate"]), "mse": float(r["mse"]), "ci_low": float(r["ci_low"]),
                         "ci_high": float(r["ci_high"]), "kind": "eblup" if r["kind"] == "eblup" else "synthetic",
                         "gamma": None if int(r["area"]) in hidden else float(r["gamma"])}
        for r in _records(table)}
    sources = covariates.attrs.get("sources", {})
    model: ModelInfo = {
        "label_vi": "ước lượng mô hình (Fay–Herriot EBLUP)", "label_en": MODELLED_LABEL, "method": info.method,
        "mse": "Prasad–Rao", "areas_fitted": info.areas_fitted, "sigma2_v": info.sigma2_v, "beta": list(info.beta),
        "covariates": [{"name": c, "label_vi": label(c, "vi"), "label_en": label(c, "en"),
                        "sources": list(sources.get(c, []))} for c in info.covariates],
        "note": "small-area",
    }
    return out, model


def _overall_only(plan: LinearPlan) -> LinearPlan:
    """The part of a SIPAS plan the overall index uses (the replicates of the other scores — the
    mean answers above all — would double the work of the rank intervals for nothing)."""
    from scoring.composites import LinearPlan

    j = plan.ids.index("overall")
    used = plan.coef[:, j] != 0
    return LinearPlan(y=plan.y[:, used], coef=plan.coef[used][:, [j]], offset=plan.offset[[j]],
                      kinds=("overall",), ids=("overall",))


def _targets(context: _Context, questionnaire: Questionnaire, chosen: Sample,
             shown: set[int]) -> dict[int, TargetInfo]:
    """The goals on the overall index for the release's year, of every shown unit: the goal as
    a share (a percent rise applied to the unit's index over its base year, a domain of every
    response of the scope)."""
    spec = context.spec
    found = context.session.scalars(select(Target).where(
        Target.questionnaire_id == questionnaire.id, Target.score_id == "overall",
        Target.year == spec.period.year, Target.unit_id.in_(list(shown)))).all()
    out: dict[int, TargetInfo] = {}
    for target in found:
        base: float | None = None
        if target.kind == TargetKind.INCREASE_PCT:
            if target.base_year is None:
                continue
            base = chosen.base_index(set(context.tree.below(target.unit_id)), target.base_year)
            if base is None:
                continue
            goal = base * (1 + target.value / 100)
        else:
            goal = float(target.value)
        out[target.unit_id] = {"year": target.year, "kind": target.kind.value, "value": goal,
                               "base_year": target.base_year, "base": base, "gap": None, "reached": None,
                               "progress": None}
    return out


def _progress(target: TargetInfo, estimate: float | None) -> TargetInfo:
    out: TargetInfo = dict(target)  # type: ignore[assignment]
    if estimate is None:
        return out
    out["gap"] = target["value"] - estimate
    out["reached"] = estimate >= target["value"]
    if target["base"] is not None and target["value"] != target["base"]:
        out["progress"] = (estimate - target["base"]) / (target["value"] - target["base"])
    return out


def _trend(session: Session, spec: ReleaseSpec, indices: list[IndexRow], release_id: int) -> list[TrendRow]:
    """This release's figures and those of earlier published releases of the same scope and
    kind of period (the newest version of each period), read from their snapshots."""
    earlier = session.scalars(select(Release).where(
        Release.status == ReleaseStatus.PUBLISHED, Release.scope_code == spec.scope,
        Release.period_kind == spec.period.kind, Release.period_end < spec.period.start,
    ).order_by(Release.period_end, Release.version)).all()
    newest: dict[str, Release] = {r.period_code: r for r in earlier}  # the last version wins
    out: list[TrendRow] = []
    for code, release in sorted(newest.items(), key=lambda kv: kv[1].period_end):
        period = Period.parse(code)
        wanted = {(row["questionnaire"], row["unit"], row["service"]) for row in indices}
        for row in release.snapshot["indices"] if release.snapshot else []:
            if (row["questionnaire"], row["unit"], row["service"]) in wanted:
                out.append(_trend_row(row, period, release.id))
    out.extend(_trend_row(row, spec.period, release_id) for row in indices)
    return out


def _trend_row(row: IndexRow, period: Period, release_id: int) -> TrendRow:
    return {"questionnaire": row["questionnaire"], "unit": row["unit"], "service": row["service"],
            "period": period.code, "label_vi": period.label_vi, "label_en": period.label_en, "release": release_id,
            "estimate": row["overall"]["estimate"], "ci_low": row["overall"]["ci_low"],
            "ci_high": row["overall"]["ci_high"], "n": row["n"], "suppressed": row["suppressed"]}


def _papi(context: _Context, questionnaire: Questionnaire) -> Papi | None:
    """The scope's PAPI scores of the release's year (:func:`survey.reports.papi_tables.papi_report`)."""
    from survey.reports.papi_tables import papi_report

    spec = context.spec
    found = papi_report(context.session, questionnaire, context.scope, year=str(spec.period.year), language="vi",
                        confidence=spec.confidence_level, min_n=spec.min_publish_n)
    if found.year != str(spec.period.year) or not found.n_responses:
        return None
    labels = {"total": ("Chỉ số PAPI tổng hợp", "PAPI total")}
    parent: dict[str, str] = {}
    for element in questionnaire.elements:
        labels[element.id] = (element.label.get("vi"), element.label.get("en"))
    for sub in questionnaire.subdimensions:
        labels[sub.id] = (sub.label.get("vi"), sub.label.get("en"))
        parent[sub.id] = sub.element
    scores: dict[str, PapiScore] = {}
    for row in found.table.rows:
        key = str(row["id"])
        n = int(row["n"])  # type: ignore[call-overload]
        hidden = n < spec.min_publish_n
        vi, en = labels.get(key, (key, key))
        scores[key] = {
            "key": key, "label_vi": vi, "label_en": en, "n": n, "n_psu": int(row["n_psu"]),  # type: ignore[call-overload]
            "suppressed": hidden,
            "estimate": None if hidden else row["estimate"], "ci_low": None if hidden else row["ci_low"],  # type: ignore[typeddict-item]
            "ci_high": None if hidden else row["ci_high"], "change": None if hidden else row["change"],  # type: ignore[typeddict-item]
            "significant": None if hidden else row["significant"], "sub": []}  # type: ignore[typeddict-item]
    dimensions = [scores[e.id] for e in questionnaire.elements if e.id in scores]
    for key, score in scores.items():
        if key in parent and parent[key] in scores:
            scores[parent[key]]["sub"].append(score)
    compared: list[RankRow] = []
    for r in found.districts.rows:
        hidden = bool(r["small_sample"])
        compared.append({
            "unit": str(r["code"]), "n": int(r["n"]), "suppressed": hidden,  # type: ignore[call-overload]
            "estimate": None if hidden else r["estimate"], "ci_low": None if hidden else r["ci_low"],  # type: ignore[typeddict-item]
            "ci_high": None if hidden else r["ci_high"], "rank": None if hidden else r["rank"],  # type: ignore[typeddict-item]
            "rank_low": None if hidden else r["rank_low"], "rank_high": None if hidden else r["rank_high"],  # type: ignore[typeddict-item]
            "group": None if hidden else r["group"]})  # type: ignore[typeddict-item]
    level = getattr(found, "compare_level", None)
    return {"questionnaire": questionnaire.id, "year": spec.period.year, "unit": context.scope.code,
            "n": found.n_responses, "n_villages": found.n_villages, "total": scores["total"],
            "dimensions": dimensions, "compared_level": None if level is None else str(level.value),
            "compared": compared, "benchmark": [], "shares": _papi_shares(questionnaire, found, spec.min_publish_n)}


def _papi_shares(questionnaire: Questionnaire, found: Any, min_n: int) -> list[PapiShare]:
    """The yes/no indicators of :func:`survey.reports.papi_tables.papi_report` as shares with
    their logit interval; suppressed below the release's minimum of valid answers."""
    out: list[PapiShare] = []
    for row in found.shares.rows if found.shares is not None else ():
        question = questionnaire.question(str(row["id"]))
        hidden = int(row["n"]) < min_n
        out.append({"key": str(row["id"]), "indicator": str(row["indicator"]), "label_vi": question.label.get("vi"),
                    "label_en": question.label.get("en"), "n": int(row["n"]), "n_psu": int(row["n_psu"]),
                    "suppressed": hidden, "estimate": None if hidden else row["estimate"],
                    "ci_low": None if hidden else row["ci_low"], "ci_high": None if hidden else row["ci_high"]})
    return out
