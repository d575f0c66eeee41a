"""The sample of one satisfaction questionnaire in a release (:mod:`survey.portal.snapshot_builder`):
its responses of the period and of the period before in the scope, and the scores of its domains —
from the rollups when they can answer (:mod:`survey.reports.rollups`), else from the microdata.

Every domain of a release is a domain of that sample (as R's ``svyby``): its estimate and Taylor
variance follow from the domain's sums and the sample's size ``N`` (each response its own PSU), and
sums add up over rollup cells. So :class:`RolledSample` scores the units of every level, for all
services and for each, and the units' base years behind the goals, from the cells, and reads the
microdata of the period only — what no cell holds: the rank intervals (Rao–Wu bootstrap replicates
resample responses), the one-stop desks (cells do not know the desk) and the answers' distribution
over the scale. The period before counts in ``N`` only. Its figures equal :class:`MicroSample`'s to
rounding (``tests/test_release_rollups.py``: ≤ 1e-12 relative, SQLite and PostgreSQL).

The microdata answer (:func:`sample` returns a :class:`MicroSample`) when the rollups cannot
(:func:`survey.reports.rollups.usable` is None), when the release scores with another overall rule
than the questionnaire's own (the cells hold its own composites), when the release is unweighted
(``weighting = "none"``) and a response of the scope has a weight other than 1 (the cells hold
weighted sums), or when the period's responses read do not number what the cells count (a
response stored between the two reads).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, select

from questionnaires import Questionnaire
from survey.periods import VIETNAM
from survey.reports.frames import responses_frame
from survey.reports.rollups import Cells
from survey.store.models import Response

if TYPE_CHECKING:
    from scoring.sipas import SipasSpec
    from survey.portal.snapshot_builder import _Context


@dataclass
class MicroSample:
    """The release's sample as microdata: ``frame`` holds the responses of the period (``_p`` =
    ``current``) and of the period before (``base``) in the scope; ``everything`` every response
    of the scope (the goals' base years)."""

    context: _Context
    sipas: SipasSpec
    frame: pd.DataFrame
    everything: pd.DataFrame

    def scores(self, by: list[str], areas: Mapping[int, int]) -> pd.DataFrame:
        """score_sipas's table of the domains ``by`` (``_area``, maybe ``service_id``) of the
        period and the one before (``_p``), areas ≥ 0 only; ``frame["_area"]`` is set by the caller."""
        from scoring.sipas import score_sipas

        spec = self.context.spec
        scored = score_sipas(self.frame, self.sipas, design=self.context.design, by=["_p", *by],
                             confidence=spec.confidence_level, min_n=spec.min_publish_n).to_frame()
        return scored[scored["_area"] >= 0]

    def desk_scores(self, data: pd.DataFrame) -> pd.DataFrame:
        """The overall index of each desk (``_area`` ≠ -1) of the period, in the sample."""
        from scoring.sipas import score_sipas

        spec = self.context.spec
        scored = score_sipas(data, self.sipas, design=self.context.design, by=["_p", "_area"],
                             confidence=spec.confidence_level, min_n=spec.min_publish_n).to_frame()
        return scored[(scored["_p"] == "current") & (scored["kind"] == "overall") & (scored["_area"] != -1)]

    def base_index(self, unit_ids: set[int], year: int) -> float | None:
        """The overall index of ``unit_ids`` over ``year`` (a domain of every response of the
        scope), None when they have no response that year."""
        from scoring.sipas import score_sipas

        everything = self.everything
        years = pd.to_datetime(everything["submitted_at"], utc=True).dt.tz_convert(VIETNAM).dt.year
        inside = everything["unit_id"].isin(unit_ids) & (years == year)
        if not inside.any():
            return None
        data = everything.assign(_d=np.where(inside, "unit", "other"))
        scored = score_sipas(data, self.sipas, design=self.context.design, by=["_d"]).to_frame()
        return float(scored[(scored["_d"] == "unit") & (scored["kind"] == "overall")]["estimate"].iloc[0])

    def when(self) -> list[ColumnElement[bool]]:
        """Conditions on a response that hold for every response of ``frame`` (to read less)."""
        period = self.context.spec.period
        return _between(self.context, period.previous().start, period.end)


@dataclass
class RolledSample:
    """The release's sample read from the rollups: ``cells`` of the scope (``now``: the period's,
    ``before``: the period before's), ``frame`` the period's microdata (``_p`` = ``current``)."""

    context: _Context
    sipas: SipasSpec
    frame: pd.DataFrame
    cells: Cells
    in_scope: np.ndarray
    now: np.ndarray
    n_total: int

    def scores(self, by: list[str], areas: Mapping[int, int]) -> pd.DataFrame:
        """:meth:`MicroSample.scores` of the period, from the cells (the period before's domains,
        which the builder never shows, are left out)."""
        from survey.reports.rollups import grouped_by, score

        cells, spec = self.cells, self.context.spec
        keys = pd.DataFrame({"_area": cells.frame["unit_id"].map(areas).fillna(-1).astype(int)})
        if "service_id" in by:
            keys["service_id"] = cells.frame["service_id"].astype(int)
        levels, sums = grouped_by(cells, self.now & (keys["_area"] >= 0).to_numpy(), keys[by])
        if not len(levels):
            return pd.DataFrame(columns=["_p", *by, "kind", "id"])
        return score(cells, sums, levels.assign(_p="current"), spec.confidence_level, n_total=self.n_total,
                     min_n=spec.min_publish_n)

    def desk_scores(self, data: pd.DataFrame) -> pd.DataFrame:
        """:meth:`MicroSample.desk_scores`: each desk's sums from the period's microdata (no cell
        knows the desk), scored in the sample of ``n_total`` responses."""
        from survey.reports.rollups import rows_grouped, score

        spec = self.context.spec
        desks, sums = rows_grouped(self.cells, data[data["_area"] != -1], "_area")
        if not len(desks):
            return pd.DataFrame(columns=["_p", "_area", "kind", "id"])
        labels = pd.DataFrame({"_p": "current", "_area": desks.astype(int)})
        scored = score(self.cells, sums, labels, spec.confidence_level, n_total=self.n_total, min_n=spec.min_publish_n)
        return scored[scored["kind"] == "overall"]

    def base_index(self, unit_ids: set[int], year: int) -> float | None:
        """:meth:`MicroSample.base_index` from the cells of ``year``."""
        from survey.reports.rollups import score

        cells = self.cells
        mask = self.in_scope & cells.frame["unit_id"].isin(unit_ids).to_numpy() & (cells.frame["year"] == year).to_numpy()
        if not mask.any():
            return None
        everything = int(cells.frame.loc[self.in_scope, "n_responses"].sum())
        scored = score(cells, cells.total(mask)[None, :], pd.DataFrame({"_d": ["unit"]}), 0.95, n_total=everything)
        return float(scored[scored["kind"] == "overall"]["estimate"].iloc[0])

    def when(self) -> list[ColumnElement[bool]]:
        """:meth:`MicroSample.when`: ``frame`` holds the period only."""
        period = self.context.spec.period
        return _between(self.context, period.start, period.end)


def _between(context: _Context, first: date, last: date) -> list[ColumnElement[bool]]:
    """Submitted from the start of day ``first`` to the end of day ``last`` (Vietnam time)."""
    from survey.reports.rollups import day_start

    session = context.session
    return [Response.submitted_at >= day_start(session, first),
            Response.submitted_at < day_start(session, last + timedelta(days=1))]


Sample = MicroSample | RolledSample


def sample(context: _Context, questionnaire: Questionnaire, sipas: SipasSpec) -> Sample:
    """The sample of ``questionnaire`` in the release: from the rollups when they answer (see the
    module's docstring), else from the microdata."""
    return _rolled(context, questionnaire, sipas) or _micro(context, questionnaire, sipas)


def _micro(context: _Context, questionnaire: Questionnaire, sipas: SipasSpec) -> MicroSample:
    period = context.spec.period
    everything = responses_frame(context.session, questionnaire, unit_ids=context.subtree)
    now = period.contains(everything["submitted_at"])
    before = period.previous().contains(everything["submitted_at"])
    frame = everything[now | before].copy()
    frame["_p"] = np.where(now[now | before], "current", "base")
    return MicroSample(context, sipas, frame, everything)


def _rolled(context: _Context, questionnaire: Questionnaire, sipas: SipasSpec) -> RolledSample | None:
    from survey.reports.rollups import usable
    from survey.reports.sipas_tables import sipas_spec

    if sipas != sipas_spec(questionnaire):  # another overall rule than the one the cells hold
        return None
    session, period = context.session, context.spec.period
    cells = usable(session, questionnaire, None, unit_ids=context.subtree)
    if cells is None or (context.spec.weighting == "none" and _weighted(context, questionnaire)):
        return None
    in_scope = cells.frame["unit_id"].isin(set(context.subtree)).to_numpy()
    now = in_scope & cells.within(period.start, period.end)
    before = period.previous()
    n_total = int(cells.frame.loc[now | (in_scope & cells.within(before.start, before.end)), "n_responses"].sum())
    frame = responses_frame(session, questionnaire, unit_ids=context.subtree,
                            where=_between(context, period.start, period.end))
    frame = frame[period.contains(frame["submitted_at"])].copy()
    if len(frame) != int(cells.frame.loc[now, "n_responses"].sum()):
        return None  # a response stored or reviewed between the two reads: the microdata answer
    frame["_p"] = "current"
    return RolledSample(context, sipas, frame, cells, in_scope, now, n_total)


def _weighted(context: _Context, questionnaire: Questionnaire) -> bool:
    """Does a response of the scope to ``questionnaire`` have a weight other than 1 (counted or
    not: the answer must be sure)? An unweighted release then cannot read weighted sums."""
    found = context.session.scalar(select(Response.id).where(
        Response.questionnaire_id == questionnaire.id, Response.unit_id.in_(context.subtree),
        Response.weight != 1.0).limit(1))
    return found is not None
