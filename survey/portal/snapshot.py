"""The release snapshot: every number the public sees, stored once, never recomputed.

A release (:class:`survey.store.models.Release`) holds ONE JSON document, its *snapshot*. Pages,
charts, the data package, the PDF, the widget, the static site and the JSON API all read their
numbers from it. A published snapshot never changes: its SHA-256 (``content_hash``, of
:func:`canonical_json`) is fixed when a publisher approves it, and the model refuses any later
change (a correction is a new version of the same *series*, with its changelog). What *can*
change about a published release is only its state — withdrawn with a public notice, or
superseded by a newer version — which the accessors below lay over the stored document
(``release.status``, ``release.withdrawn``, ``release.superseded_by``), outside the hash.

Accessors (the portal and open-data modules use only these):

- :func:`published_snapshot` — a published (or withdrawn) release by id, with its state;
- :func:`draft_snapshot` — a built release not yet published (the staff preview);
- :func:`latest_published` — the newest published, not withdrawn, release showing a unit;
- :func:`published_releases` — every published version, newest first (index pages, static site);
- :func:`series_versions` — the versions of one series with their changelog;
- :func:`find_index`, :func:`find_ranking`, :func:`trend_of` — look-ups inside a document.

The builder is :func:`build_snapshot` (in :mod:`survey.portal.snapshot_builder`).

The schema (``schema: 1``) is the TypedDicts below; every field is documented on them. Shares
(satisfaction rates and indices) are in [0, 1]; PAR 8.1 points in [0, 10]; mean scores in
[1, 5]; PAPI scores on PAPI's scales. Numbers keep full precision: pages round them.
Suppressed cells (fewer valid answers than ``min_publish_n``, or an effective sample size
below ``min_effective_n``) carry ``"suppressed": true`` and ``null`` numbers — pages print
"chưa đủ ý kiến để công bố". ``n`` is always published, so a reader sees why.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any, Literal, NotRequired, TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.store.models import Release, ReleaseStatus, ReleaseUnit

SCHEMA_VERSION = 1
PUBLIC_STATES = (ReleaseStatus.PUBLISHED, ReleaseStatus.WITHDRAWN)


class PeriodInfo(TypedDict):
    code: str  # "2026-Q3", "2026-H1", "2026-9M", "2026"
    kind: Literal["quarter", "half", "9m", "year"]
    start: str  # first day, ISO date (Vietnam time)
    end: str  # last day, ISO date
    label_vi: str  # "Quý III/2026"
    label_en: str  # "Q3 2026"


class ScopeInfo(TypedDict):
    code: str  # the unit the release covers, with everything below it
    name: str
    kind: str  # the unit's level: province, district, commune, department, hamlet


class ChangelogEntry(TypedDict):
    version: int
    text: str  # "phiên bản 2: sửa …"; version 1's text may be empty (first publication)


class Withdrawal(TypedDict):
    at: str  # ISO moment, Vietnam time
    notice: str  # the public notice


class ReleaseInfo(TypedDict):
    id: int
    series: str  # "<scope>-<period>", shared by every version
    version: int  # 1, 2, … within the series
    status: str  # "draft" in a preview; "published"/"withdrawn" as served (see the module doc)
    period: PeriodInfo
    previous_period: PeriodInfo  # the period changes are measured from
    scope: ScopeInfo
    questionnaires: list[str]  # questionnaire ids, as chosen
    overall_rule: str | None  # the rule chosen for the overall index; None: each questionnaire's own
    methodology_version: str
    weighting: Literal["none", "design"]  # equal weights, or the responses' design weights
    confidence_level: float  # of every interval (0.95)
    min_publish_n: int  # fewer valid answers: suppressed
    min_effective_n: float  # smaller effective sample size (n / deff): suppressed
    built_at: str  # when the numbers were computed (ISO, Vietnam time)
    published_at: str | None  # set once, when a publisher approved it
    changelog: list[ChangelogEntry]  # every version of the series up to this one
    withdrawn: Withdrawal | None  # laid over the stored document by the accessors
    superseded_by: int | None  # a newer published version of the series (accessors)
    # the published releases of the previous period the changes were measured against (empty:
    # none was published, so there is no change to show)
    previous_releases: NotRequired[list[PreviousRelease]]


class ElementInfo(TypedDict):
    key: str
    label_vi: str
    label_en: str
    max_points: float | None  # PAR 8.1 maximum of the element


class QuestionnaireInfo(TypedDict):
    id: str
    version: str  # the definition scored (the newest version; question ids are stable)
    kind: str  # "sipas", "public_service", "papi", …
    title_vi: str
    title_en: str
    overall_rule: str  # the rule that produced this questionnaire's overall index
    elements: list[ElementInfo]


class UnitInfo(TypedDict):
    code: str
    name: str
    kind: str  # the unit's level
    parent: str | None  # the parent's code when the parent is shown too


class ServiceInfo(TypedDict):
    code: str
    name_vi: str
    name_en: str


class Interval(TypedDict):
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None


class ElementRow(TypedDict):
    key: str
    label_vi: str
    label_en: str
    n: int
    suppressed: bool
    estimate: float | None
    ci_low: float | None
    ci_high: float | None


class LevelCount(TypedDict):
    level: int  # 1 … 5
    label_vi: str  # "Rất không hài lòng" … "Rất hài lòng"
    label_en: str
    count: int | None  # valid answers at this level, pooled over the criteria (null when suppressed)


class Change(TypedDict):
    previous_period: str  # its code
    previous_estimate: float  # as the previous period's published release showed it
    delta: float  # this period minus the previous one
    se: float | None  # √(SE² + SE_previous²), the two periods' respondents independent; null: no SE stored then
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    significant: bool | None  # the interval of the difference excludes 0
    previous_se: NotRequired[float | None]  # the SE the previous release stored
    previous_release: NotRequired[int]  # the release (id) the previous figure was read from
    previous_version: NotRequired[int]


class PreviousRelease(TypedDict):
    id: int
    version: int
    scope: str
    period: str


class TargetInfo(TypedDict):
    year: int
    kind: Literal["score", "increase_pct"]
    value: float  # the goal, as a share (a percent rise already applied to the base year)
    base_year: int | None
    base: float | None  # the base year's index, for a percent rise
    gap: float | None  # goal − estimate (null when suppressed)
    reached: bool | None
    progress: float | None  # (estimate − base) / (goal − base), for a percent rise


class IndexRow(TypedDict):
    questionnaire: str
    unit: str
    service: str | None  # None: all services together
    n: int  # respondents with at least one valid answer
    n_eff: float | None  # effective sample size n / deff of the overall index
    suppressed: bool
    overall: Interval
    elements: list[ElementRow]
    par_points: Interval | None  # PAR 8.1 points of 10 (None: the questionnaire has no maxima)
    mean_score: Interval
    distribution: list[LevelCount]
    change: Change | None  # None: suppressed now or then, or no answers in the previous period
    target: TargetInfo | None


class RankRow(TypedDict):
    unit: str
    n: int
    suppressed: bool  # suppressed units are listed, never ranked
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    rank: int | None  # 1 = best; ties share the best rank
    rank_low: int | None  # 95% rank interval from bootstrap replicates
    rank_high: int | None
    group: int | None  # nhóm 1 (highest) … 4 (lowest), by quartile of the ranked units
    # The Fay–Herriot modelled index ("ước lượng mô hình"), shown beside the direct one and, for
    # a suppressed unit, instead of it (the direct numbers stay null); None: no model fitted.
    modelled: NotRequired[Modelled | None]
    name: NotRequired[str]  # in a ranking of one-stop desks: "<desk> — <its unit>" (``unit`` is the desk's code)


class Modelled(TypedDict):
    estimate: float  # the EBLUP (sampled unit) or synthetic estimate xᵀβ̂ (unit without answers)
    mse: float  # Prasad–Rao mean squared error
    ci_low: float  # estimate ± z·√mse at the release's confidence level, within [0, 1]
    ci_high: float
    kind: Literal["eblup", "synthetic"]
    gamma: float | None  # weight of the direct index in the EBLUP (null when the direct one is suppressed)


class CovariateInfo(TypedDict):
    name: str  # e.g. urban, population, area_km2, poverty_rate, distance_km
    label_vi: str
    label_en: str
    sources: list[str]  # documented sources, with their year, as imported


class ModelInfo(TypedDict):
    label_vi: str  # "ước lượng mô hình (Fay–Herriot EBLUP)"
    label_en: str  # "modelled estimate (Fay–Herriot EBLUP)"
    method: str  # how σ²_v was fitted: "REML"
    mse: str  # "Prasad–Rao"
    covariates: list[CovariateInfo]  # the area covariates used (empty: intercept only)
    areas_fitted: int  # units whose direct index entered the model
    sigma2_v: float  # variance of the area effects
    beta: list[float]  # intercept first, then one per covariate
    note: str  # anchor of the methodology note on the portal's methodology page


class BestInfo(TypedDict):
    unit: str
    estimate: float


class Ranking(TypedDict):
    questionnaire: str
    parent: str  # the scope
    level: str  # the unit level ranked: district, commune, department; or desk (one-stop desks of the scope)
    service: str | None
    rows: list[RankRow]  # ranked units in rank order, then the others in Vietnamese order
    median: float | None  # "điểm trung vị" over the ranked units
    best: BestInfo | None
    replicates: int  # bootstrap replicates behind the rank intervals
    model: NotRequired[ModelInfo | None]  # the small-area model behind the rows' ``modelled`` (None: none fitted)


class TrendRow(TypedDict):
    questionnaire: str
    unit: str
    service: str | None
    period: str
    label_vi: str
    label_en: str
    release: int  # the release (id) the figure was published in; this one for its own period
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    suppressed: bool


class PapiScore(TypedDict):
    key: str  # "total", a dimension id or a sub-dimension id
    label_vi: str
    label_en: str
    n: int
    n_psu: int  # villages behind the score
    suppressed: bool
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    change: float | None  # since the previous survey year
    significant: bool | None
    sub: list[PapiScore]  # a dimension's sub-dimensions (empty below)


class Papi(TypedDict):
    questionnaire: str
    year: int
    unit: str
    n: int
    n_villages: int
    total: PapiScore
    dimensions: list[PapiScore]
    compared_level: str | None  # the level of the units compared (communes on today's map)
    compared: list[RankRow]  # those units ranked on the total, with rank intervals and groups
    benchmark: list[dict[str, Any]]  # official PAPI 2011–2016 rows of the province (if provided)
    shares: NotRequired[list[PapiShare]]  # the yes/no indicators as shares, with their logit interval


class PapiShare(TypedDict):
    key: str  # the question id
    indicator: str  # its PAPI indicator number, e.g. "1.1.1"
    label_vi: str
    label_en: str
    n: int
    n_psu: int
    suppressed: bool  # fewer valid answers than min_publish_n: numbers null
    estimate: float | None  # share of households answering yes, in [0, 1]
    ci_low: float | None  # logit interval (as R svyciprop(method="logit")); null for one village
    ci_high: float | None


class Boundaries(TypedDict):
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]  # {type: Feature, properties: {unit}, geometry: Polygon | MultiPolygon}
    source: str  # the uploaded file's name
    uploaded_at: str | None  # ISO moment, Vietnam time


class Snapshot(TypedDict):
    schema: int  # SCHEMA_VERSION
    release: ReleaseInfo
    questionnaires: list[QuestionnaireInfo]
    units: list[UnitInfo]  # every unit shown: the scope first, then the tree in Vietnamese order
    services: list[ServiceInfo]  # every service with an index row
    indices: list[IndexRow]  # one per questionnaire × unit × service (None first)
    rankings: list[Ranking]
    trend: list[TrendRow]  # earlier published periods of the same kind and scope, and this one
    papi: Papi | None  # when a PAPI questionnaire was chosen for a year
    admin_index: list[dict[str, Any]]  # Decision 766 figures per unit, when imported
    # The commune boundaries the map was drawn on (a GeoJSON FeatureCollection, each feature's
    # properties only {"unit": code}), copied from the province's upload; None: no map, tiles.
    boundaries: NotRequired[Boundaries | None]
    # Per desk (or unit, for interviews) and quarter: ratings held by a quality flag and those of
    # them not counted (survey.portal.quality_section); counts only. Absent in older releases.
    quality: NotRequired[list[dict[str, Any]]]


# -- hashing ------------------------------------------------------------------------------------

def canonical_json(document: Any) -> str:
    """The document as canonical JSON: sorted keys, no spaces, NFC text, exact floats."""
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return unicodedata.normalize("NFC", text)


def content_hash(document: Any) -> str:
    """SHA-256 of :func:`canonical_json` — the fingerprint of a published snapshot."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


# -- accessors ----------------------------------------------------------------------------------

_documents: dict[tuple[str, int, str], Snapshot] = {}


def _document(session: Session, release: Release) -> Snapshot:
    """The stored snapshot of ``release`` (published ones from a per-process cache)."""
    url = str(session.get_bind().engine.url)
    key = (url, release.id, release.content_hash or "")
    if release.content_hash and key in _documents:
        return _documents[key]
    document: Snapshot = release.snapshot  # type: ignore[assignment]
    if release.content_hash:
        if len(_documents) > 64:
            _documents.clear()
        _documents[key] = document
    return document


def _with_state(session: Session, release: Release, document: Snapshot) -> Snapshot:
    """A copy of ``document`` with the release's present state laid over the stored one."""
    info: ReleaseInfo = dict(document["release"])  # type: ignore[assignment]
    info["status"] = release.status.value
    info["withdrawn"] = ({"at": release.withdrawn_at.isoformat() if release.withdrawn_at else "",
                          "notice": release.withdrawal_notice or ""}
                         if release.status == ReleaseStatus.WITHDRAWN else None)
    newer = session.scalar(select(Release.version).where(
        Release.series == release.series, Release.version > release.version,
        Release.status.in_(PUBLIC_STATES)).order_by(Release.version.desc()).limit(1))
    info["superseded_by"] = newer
    out: Snapshot = {**document, "release": info}  # type: ignore[typeddict-item]
    return out


def published_snapshot(session: Session, release_id: int) -> Snapshot | None:
    """The snapshot of a published or withdrawn release, with its present state; None for an
    unknown id or a release that was never published."""
    release = session.get(Release, release_id)
    if release is None or release.status not in PUBLIC_STATES:
        return None
    if release.content_hash is None and release.snapshot is None:  # (a published one has both: its
        return None  # document then comes from the cache, not loaded and parsed again)
    return _with_state(session, release, _document(session, release))


def draft_snapshot(session: Session, release_id: int) -> Snapshot | None:
    """The snapshot of a built release that is not yet published (what the preview shows);
    None while it is being built, after a failure, or once published."""
    release = session.get(Release, release_id)
    if release is None or release.status != ReleaseStatus.READY or release.snapshot is None:
        return None
    return release.snapshot  # type: ignore[return-value]


def latest_published(session: Session, unit_code: str | None = None) -> Snapshot | None:
    """The newest published (not withdrawn) snapshot showing ``unit_code`` — by period end,
    then publication time, then version (two versions published at the same instant: the higher
    one), then id — or the newest of all when ``unit_code`` is None."""
    stmt = select(Release).where(Release.status == ReleaseStatus.PUBLISHED)
    if unit_code is not None:
        stmt = stmt.join(ReleaseUnit, ReleaseUnit.release_id == Release.id).where(ReleaseUnit.unit_code == unit_code)
    release = session.scalar(stmt.order_by(Release.period_end.desc(), Release.published_at.desc(),
                                           Release.version.desc(), Release.id.desc()).limit(1))
    return None if release is None else _with_state(session, release, _document(session, release))


class ReleaseSummary(TypedDict):
    id: int
    series: str
    version: int
    status: str
    period: str
    scope: str
    questionnaires: list[str]
    published_at: str | None
    withdrawn_at: str | None
    changelog: str
    content_hash: str | None


def _summary(release: Release) -> ReleaseSummary:
    return {"id": release.id, "series": release.series, "version": release.version,
            "status": release.status.value, "period": release.period_code, "scope": release.scope_code,
            "questionnaires": list(release.questionnaires),
            "published_at": release.published_at.isoformat() if release.published_at else None,
            "withdrawn_at": release.withdrawn_at.isoformat() if release.withdrawn_at else None,
            "changelog": release.changelog, "content_hash": release.content_hash}


def published_releases(session: Session) -> list[ReleaseSummary]:
    """Every published or withdrawn release version, newest period first, then newest version."""
    rows = session.scalars(select(Release).where(Release.status.in_(PUBLIC_STATES))
                           .order_by(Release.period_end.desc(), Release.series, Release.version.desc()))
    return [_summary(r) for r in rows]


def series_versions(session: Session, series: str) -> list[ReleaseSummary]:
    """The published or withdrawn versions of ``series``, oldest first."""
    rows = session.scalars(select(Release).where(Release.series == series, Release.status.in_(PUBLIC_STATES))
                           .order_by(Release.version))
    return [_summary(r) for r in rows]


# -- look-ups inside a document -----------------------------------------------------------------

def _first_questionnaire(snapshot: Snapshot, questionnaire: str | None) -> str | None:
    if questionnaire is not None:
        return questionnaire
    return next((q["id"] for q in snapshot["questionnaires"] if q["kind"] != "papi"), None)


def find_index(snapshot: Snapshot, unit: str, *, service: str | None = None,
               questionnaire: str | None = None) -> IndexRow | None:
    """The index row of ``unit`` × ``service`` (None: all services) for ``questionnaire``
    (default: the release's first satisfaction questionnaire)."""
    qid = _first_questionnaire(snapshot, questionnaire)
    return next((row for row in snapshot["indices"]
                 if row["unit"] == unit and row["service"] == service and row["questionnaire"] == qid), None)


def find_ranking(snapshot: Snapshot, level: str, *, service: str | None = None,
                 questionnaire: str | None = None) -> Ranking | None:
    """The ranking of the units of ``level`` (``commune``, ``district``, ``department``)."""
    qid = _first_questionnaire(snapshot, questionnaire)
    return next((r for r in snapshot["rankings"]
                 if r["level"] == level and r["service"] == service and r["questionnaire"] == qid), None)


def trend_of(snapshot: Snapshot, unit: str, *, service: str | None = None,
             questionnaire: str | None = None) -> list[TrendRow]:
    """The published periods of ``unit`` × ``service``, oldest first, this release's last."""
    qid = _first_questionnaire(snapshot, questionnaire)
    rows = [t for t in snapshot["trend"]
            if t["unit"] == unit and t["service"] == service and t["questionnaire"] == qid]
    return sorted(rows, key=lambda t: t["period"])
