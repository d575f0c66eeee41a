"""SIPAS satisfaction indices (Bộ Nội vụ), with linearised standard errors for every composite.

Formulas (see ``docs/methodology.md`` §2; marks [I] are configurable inferences):

- criterion satisfaction rate ``p_c`` = weighted share of valid answers coded as satisfied
  (4 "Hài lòng" or 5 "Rất hài lòng"); NaN (not applicable, don't know, missing) is not valid;
- element index ``E_e = mean_c p_c`` over the element's criteria;
- overall index: ``par_weighted`` = Σ_e m_e E_e / Σ_e m_e with the PAR Index criterion 8.1
  maxima m = 1.5/1.5/2.5/2.5/2, ``plain_mean`` = mean_e E_e, or ``item:<column>`` = the
  satisfaction rate of a designated overall item;
- PAR 8.1 points = Σ_e m_e E_e (10 points in all);
- mean score = mean over all criteria of each criterion's weighted mean answer on 1–5.

All of them are linear in ratio estimators, so their variances come from the linearised
influence function of the composite (:mod:`scoring.estimators`), never from averaging SEs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from scoring.composites import LinearPlan, composite, ratios
from scoring.design import SurveyDesign
from scoring.estimators import item_values
from scoring.intervals import (
    MIN_N,
    MIN_PSU,
    CiMethod,
    DegreesOfFreedom,
    build_table,
    check_confidence,
    resolve_df,
)
from scoring.linearization import domain_index
from scoring.results import EstimateTable

OverallRule = Literal["par_weighted", "plain_mean"] | str
#: Kinds of score that are shares in [0, 1] (their interval may be the logit one).
SHARE_KINDS = frozenset({"criterion", "element", "overall"})
#: PAR Index criterion 8.1 maxima of the five SIPAS elements (10 points in all).
PAR_MAXIMA: tuple[float, ...] = (1.5, 1.5, 2.5, 2.5, 2.0)


@dataclass(frozen=True)
class SipasElement:
    """One SIPAS element: its id, PAR 8.1 maximum points and the item columns of its criteria."""

    id: str
    max_points: float
    criteria: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.criteria:
            raise ValueError(f"element {self.id!r} has no criteria")
        if not self.max_points >= 0:
            raise ValueError(f"element {self.id!r} max_points must be ≥ 0, got {self.max_points!r}")


@dataclass(frozen=True)
class SipasSpec:
    """How to score a SIPAS questionnaire.

    Parameters
    ----------
    elements : tuple of SipasElement
        Elements in questionnaire order.
    satisfied : frozenset of int
        Answer codes counted as satisfied (default 4 and 5).
    overall_rule : str
        ``"par_weighted"``, ``"plain_mean"`` or ``"item:<column>"``.
    scale : tuple of float
        Lowest and highest valid answer code; answers outside are rejected.
    """

    elements: tuple[SipasElement, ...]
    satisfied: frozenset[int] = field(default_factory=lambda: frozenset({4, 5}))
    overall_rule: OverallRule = "par_weighted"
    scale: tuple[float, float] = (1.0, 5.0)

    def __post_init__(self) -> None:
        if not self.elements:
            raise ValueError("a SIPAS spec needs at least one element")
        ids = [e.id for e in self.elements]
        if len(set(ids)) != len(ids):
            raise ValueError(f"element ids must be unique, got {ids!r}")
        criteria = [c for e in self.elements for c in e.criteria]
        if len(set(criteria)) != len(criteria):
            raise ValueError(f"a criterion column appears in two elements: {criteria!r}")
        rule = self.overall_rule
        if rule not in ("par_weighted", "plain_mean") and not (
            rule.startswith("item:") and len(rule) > 5
        ):
            raise ValueError(
                "overall_rule must be 'par_weighted', 'plain_mean' or 'item:<column>', "
                f"got {rule!r}"
            )
        if rule == "par_weighted" and sum(e.max_points for e in self.elements) <= 0:
            raise ValueError("overall_rule 'par_weighted' needs positive max_points")

    @property
    def criteria(self) -> tuple[str, ...]:
        """All criterion columns in element order."""
        return tuple(c for e in self.elements for c in e.criteria)


def score_sipas(
    data: pd.DataFrame,
    spec: SipasSpec,
    *,
    design: SurveyDesign | None = None,
    by: Sequence[str] = (),
    confidence: float = 0.95,
    df: DegreesOfFreedom = "design",
    min_n: int = MIN_N,
    min_psu: int = MIN_PSU,
    ci: CiMethod = "logit",
) -> EstimateTable:
    """Score SIPAS per domain: criterion rates, element indices, overall, PAR points, mean score.

    Parameters
    ----------
    data : DataFrame
        One row per response; criterion columns hold 1–5 or NaN.
    spec : SipasSpec
        Elements, criteria and the overall rule.
    design : SurveyDesign, optional
        Sampling design (equal weights, each row its own PSU when omitted).
    by : sequence of str
        Domain columns (unit, service, channel, period …), estimated on the full design.
    confidence : float
        Confidence level of the intervals.
    df : {"design", "inf"} or float
        Degrees of freedom of the t interval (default #PSU − #strata).
    min_n, min_psu : int
        Thresholds for the ``small_sample`` flag.
    ci : {"logit", "wald"}
        Interval of the shares (criterion rates, element indices, the overall index): the logit
        interval of R ``svyciprop(method="logit")`` by default, so a share near 0 or 1 keeps its
        interval inside [0, 1]; PAR points and the mean score always use Wald.

    Returns
    -------
    EstimateTable
        Rows of kind ``criterion`` (id = column), ``element`` (id = element id), ``overall``
        (id ``"overall"``), ``par_points`` (id ``"par_points"``; only when the elements carry PAR
        8.1 maxima) and ``mean_score``
        (id ``"mean_score"``), per domain. ``n`` of a composite counts respondents with at
        least one valid answer among its criteria.

    Examples
    --------
    >>> import pandas as pd
    >>> spec = SipasSpec(elements=(SipasElement("access", 1.5, ("c1", "c2")),))
    >>> data = pd.DataFrame({"c1": [4, 5, 2, 3], "c2": [5, 5, 4, None]})
    >>> frame = score_sipas(data, spec).to_frame()
    >>> float(frame.loc[frame["kind"] == "element", "estimate"].iloc[0])
    0.75
    """
    check_confidence(confidence)
    design = design or SurveyDesign()
    plan = sipas_plan(data, spec)
    prepared = design.prepare(data)
    index = domain_index(data, by, prepared)
    parts = ratios(prepared, index, plan.y, np.ones_like(plan.y))
    arrays = composite(prepared, index, parts, plan.coef)
    methods: list[CiMethod] = [ci if kind in SHARE_KINDS else "wald" for kind in plan.kinds]
    return build_table(
        index, by, plan.kinds, plan.ids, arrays, confidence=confidence, df=resolve_df(df, prepared),
        ci=methods, min_n=min_n, min_psu=min_psu,
    )  # fmt: skip


def sipas_plan(data: pd.DataFrame, spec: SipasSpec) -> LinearPlan:
    """Every SIPAS score of ``spec`` as a linear composite of ratio means (criterion shares
    satisfied, then criterion mean answers), for :func:`score_sipas` and
    :func:`scoring.compare.change_sipas`.

    Raises
    ------
    ValueError
        If a criterion column is missing or holds an answer outside ``spec.scale``.
    """
    criteria = list(spec.criteria)
    overall_item = spec.overall_rule[5:] if spec.overall_rule.startswith("item:") else None
    columns = criteria + ([overall_item] if overall_item and overall_item not in criteria else [])
    answers = item_values(data, columns)
    low, high = spec.scale
    out_of_scale = ~np.isnan(answers) & ((answers < low) | (answers > high))
    if out_of_scale.any():
        row, col = np.argwhere(out_of_scale)[0]
        raise ValueError(
            f"criterion {columns[col]!r} has answer {float(answers[row, col])!r} outside {low}–{high}; "
            "code not-applicable/don't-know as missing"
        )
    satisfied = np.isin(answers, np.asarray(sorted(spec.satisfied), dtype=float)).astype(float)
    y = np.hstack([np.where(np.isnan(answers), np.nan, satisfied), answers])

    k = len(columns)
    position = {c: j for j, c in enumerate(columns)}
    coefs: list[np.ndarray] = []
    kinds: list[str] = []
    ids: list[str] = []

    def add(kind: str, id_: str, weights: dict[int, float]) -> np.ndarray:
        vector = np.zeros(2 * k)
        for j, a in weights.items():
            vector[j] += a
        coefs.append(vector)
        kinds.append(kind)
        ids.append(id_)
        return vector

    for c in criteria:
        add("criterion", c, {position[c]: 1.0})
    element_vectors = [
        add("element", e.id, {position[c]: 1.0 / len(e.criteria) for c in e.criteria})
        for e in spec.elements
    ]
    maxima = np.array([e.max_points for e in spec.elements])
    points = sum((m * v for m, v in zip(maxima, element_vectors, strict=True)), np.zeros(2 * k))
    if overall_item is not None:
        add("overall", "overall", {position[overall_item]: 1.0})
    elif spec.overall_rule == "par_weighted":
        add("overall", "overall", dict(enumerate(points / maxima.sum())))
    else:
        plain = sum(element_vectors, np.zeros(2 * k)) / len(element_vectors)
        add("overall", "overall", dict(enumerate(plain)))
    if (
        maxima.sum() > 0
    ):  # PAR 8.1 points need the elements' maxima (public-service forms have none)
        add("par_points", "par_points", dict(enumerate(points)))
    add("mean_score", "mean_score", {k + position[c]: 1.0 / len(criteria) for c in criteria})
    coef = np.column_stack(coefs)
    return LinearPlan(y=y, coef=coef, offset=np.zeros(coef.shape[1]), kinds=tuple(kinds),
                      ids=tuple(ids))  # fmt: skip
