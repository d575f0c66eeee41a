"""The release workflow: prepare → build (a background job) → preview → approve and publish;
then, if need be, a correction (a new version with its changelog) or a withdrawal with a public
notice. Never a silent change: a published snapshot is immutable (the model refuses changes).

Who may do what (admins may do everything, except approve a release they prepared):

- an **analyst** prepares a release, rebuilds or discards a draft;
- a **publisher** — another account than the one that prepared it — approves and publishes a
  built release, and withdraws a published one with a notice.

The web pages (:mod:`survey.staff.release_views`) and the CLI (:mod:`survey.portal.publish_commands`) call
these functions only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from survey.errors import AppError, Conflict, Forbidden, NotFound
from survey.periods import Period
from survey.portal.jobs import render_after_commit
from survey.portal.snapshot import ReleaseInfo, content_hash
from survey.portal.snapshot_builder import (
    BuildFailure,
    ReleaseSpec,
    build_snapshot,
    check_spec,
    moment,
)
from survey.store.models import Release, ReleaseStatus, ReleaseUnit, Role, Unit, User, utcnow

log = logging.getLogger(__name__)

PREPARERS = (Role.ANALYST, Role.ADMIN)
PUBLISHERS = (Role.PUBLISHER, Role.ADMIN)
OPEN = (ReleaseStatus.DRAFT, ReleaseStatus.READY, ReleaseStatus.FAILED)
PUBLIC = (ReleaseStatus.PUBLISHED, ReleaseStatus.WITHDRAWN)

# What staff read when a build fails, by BuildFailure.code (the job stores the code and params).
BUILD_ERRORS = {
    "no_responses": _l("There are no responses that passed review in %(period)s for %(unit)s: there is nothing "
                       "to publish. Choose another period or unit."),
    "unknown_unit": _l("The unit %(unit)s does not exist."),
    "unknown_questionnaire": _l("The questionnaire %(questionnaire)s does not exist."),
    "no_questionnaire": _l("Choose at least one questionnaire."),
    "papi_period": _l("%(questionnaire)s is a yearly household survey: publish it for a year (e.g. 2026)."),
    "not_scored": _l("%(questionnaire)s has no satisfaction index to publish."),
    "no_overall_item": _l("%(questionnaire)s has no overall question: choose another rule for the overall index."),
    "overall_rule": _l("Unknown rule for the overall index: %(rule)s."),
    "weighting": _l("Unknown weighting: %(weighting)s."),
    "unexpected": _l("Building the release failed unexpectedly (%(detail)s). Nothing was published. Try again; "
                     "if it fails again, tell the administrator (the worker's log has the details)."),
}

STAGES = {
    "queued": _l("Waiting for the background worker"),
    "reading": _l("Reading the responses"),
    "scoring": _l("Computing the indices"),
    "ranking": _l("Ranking the units"),
    "papi": _l("Computing the PAPI scores"),
    "trend": _l("Adding the earlier periods"),
    "done": _l("Done"),
}


def error_message(release: Release) -> str | None:
    """The failure of ``release``'s build in the user's language (None if it did not fail)."""
    if release.status != ReleaseStatus.FAILED:
        return None
    import json

    params = json.loads(release.error_detail or "{}")
    template = BUILD_ERRORS.get(release.error_code or "", BUILD_ERRORS["unexpected"])
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(BUILD_ERRORS["unexpected"]) % {"detail": release.error_code}


@dataclass(frozen=True)
class Choice:
    """What an analyst chose (from the form or the command line)."""

    period: str
    scope: str
    questionnaires: Sequence[str]
    overall_rule: str | None = None
    methodology_version: str | None = None
    weighting: str = "none"
    changelog: str = ""


def _require(user: User | None, roles: tuple[Role, ...], message: str) -> None:
    if user is not None and user.role not in roles:
        raise Forbidden(message)


def prepare(session: Session, choice: Choice, user: User | None) -> Release:
    """A new draft release (the next version of its series) — not yet built: enqueue
    :func:`survey.portal.jobs.build_release` once the transaction commits."""
    _require(user, PREPARERS, _("Only an analyst can prepare a release."))
    try:
        period = Period.parse(choice.period)
    except ValueError:
        raise AppError(_("A period is written 2026-Q3 (a quarter), 2026-H1 (a half-year), 2026-9M (nine months) "
                         "or 2026 (a year)."), {"period": choice.period}) from None
    unit = session.scalar(select(Unit).where(Unit.code == choice.scope.strip()))
    if unit is None:
        raise NotFound(_("The unit %(unit)s does not exist.", unit=choice.scope), {"unit": choice.scope})
    config = current_app.config
    spec = _spec(period, unit.code, choice, config)
    try:
        check_spec(spec)
    except BuildFailure as exc:
        raise AppError(str(BUILD_ERRORS[exc.code]) % exc.params) from None
    series = f"{unit.code}-{period.code}"
    open_draft = session.scalar(select(Release).where(Release.series == series, Release.status.in_(OPEN)))
    if open_draft is not None:
        raise Conflict(_("A draft of this release is already open (no. %(id)s): finish or discard it first.",
                         id=open_draft.id))
    published = session.scalar(select(func.max(Release.version)).where(
        Release.series == series, Release.status.in_(PUBLIC))) or 0
    changelog = choice.changelog.strip()
    if published and not changelog:
        raise AppError(_("Version %(version)s of this release is published: say what this new version corrects "
                         "(it is shown to the public).", version=published), {"changelog": ""})
    release = Release(
        series=series, version=published + 1, status=ReleaseStatus.DRAFT, period_code=period.code,
        period_kind=period.kind, period_start=period.start, period_end=period.end, scope_unit_id=unit.id,
        scope_code=unit.code, questionnaires=list(spec.questionnaires), overall_rule=spec.overall_rule,
        methodology_version=spec.methodology_version, weighting=spec.weighting,
        confidence_level=spec.confidence_level, min_publish_n=spec.min_publish_n,
        min_effective_n=spec.min_effective_n, changelog=changelog, created_by_id=user.id if user else None,
        stage="queued", progress=0,
    )
    session.add(release)
    session.flush()
    return release


def _spec(period: Period, scope: str, choice: Choice | None, config: Any, release: Release | None = None) -> ReleaseSpec:
    if release is not None:
        return ReleaseSpec(period=Period.parse(release.period_code), scope=release.scope_code,
                           questionnaires=tuple(release.questionnaires), overall_rule=release.overall_rule,
                           methodology_version=release.methodology_version, weighting=release.weighting,
                           confidence_level=release.confidence_level, min_publish_n=release.min_publish_n,
                           min_effective_n=release.min_effective_n)
    assert choice is not None  # noqa: S101 - one of the two is given
    return ReleaseSpec(
        period=period, scope=scope, questionnaires=tuple(dict.fromkeys(q.strip() for q in choice.questionnaires if q.strip())),
        overall_rule=choice.overall_rule or None,
        methodology_version=(choice.methodology_version or config["METHODOLOGY_VERSION"]).strip(),
        weighting=choice.weighting or "none", confidence_level=float(config["CONFIDENCE_LEVEL"]),
        min_publish_n=int(config["MIN_PUBLISH_N"]), min_effective_n=float(config["MIN_EFFECTIVE_N"]),
    )


def release_info(session: Session, release: Release) -> ReleaseInfo:
    """The release block of ``release``'s snapshot, as built (status draft)."""
    period = Period.parse(release.period_code)
    scope = release.scope
    earlier = session.scalars(select(Release).where(
        Release.series == release.series, Release.status.in_(PUBLIC), Release.version < release.version)
        .order_by(Release.version)).all()
    changelog = [{"version": r.version, "text": r.changelog} for r in earlier]
    changelog.append({"version": release.version, "text": release.changelog})
    return {
        "id": release.id, "series": release.series, "version": release.version, "status": "draft",
        "period": period.to_dict(), "previous_period": period.previous().to_dict(),  # type: ignore[typeddict-item]
        "scope": {"code": scope.code, "name": scope.name, "kind": scope.level.value},
        "questionnaires": list(release.questionnaires), "overall_rule": release.overall_rule,
        "methodology_version": release.methodology_version, "weighting": release.weighting,  # type: ignore[typeddict-item]
        "confidence_level": release.confidence_level, "min_publish_n": release.min_publish_n,
        "min_effective_n": release.min_effective_n, "built_at": moment(), "published_at": None,
        "changelog": changelog, "withdrawn": None, "superseded_by": None,  # type: ignore[typeddict-item]
    }


def build(session_factory: Any, release_id: int) -> str:
    """Build the snapshot of a draft release (the body of the background job): progress is
    committed as it goes, so staff see it; a failure is stored with a message for staff.
    Safe to run twice: a release that is no longer a draft is left alone. Returns its status."""
    import json

    with session_factory() as session:
        release = session.get(Release, release_id)
        if release is None:
            return "missing"
        if release.status != ReleaseStatus.DRAFT:
            return release.status.value
        spec = _spec(Period.parse(release.period_code), release.scope_code, None, None, release)
        info = release_info(session, release)

        def progress(percent: int, stage: str) -> None:
            with session_factory() as other:
                row = other.get(Release, release_id)
                if row is not None and row.status == ReleaseStatus.DRAFT:
                    row.progress, row.stage = min(max(percent, 0), 100), stage
                    other.commit()

        try:
            with _reading(session_factory)() as reader:  # the read replica once it has caught up, if any
                snapshot = build_snapshot(reader, spec, release=info, progress=progress)
        except BuildFailure as exc:
            session.rollback()
            _fail(session_factory, release_id, exc.code, exc.params)
            return ReleaseStatus.FAILED.value
        except Exception as exc:
            session.rollback()
            log.exception("building release %s failed", release_id)
            _fail(session_factory, release_id, "unexpected", {"detail": type(exc).__name__})
            raise
        release = session.get(Release, release_id)
        if release is None or release.status != ReleaseStatus.DRAFT:  # discarded meanwhile
            return "missing" if release is None else release.status.value
        release.snapshot = json.loads(json.dumps(snapshot, allow_nan=False))
        release.status, release.progress, release.stage = ReleaseStatus.READY, 100, "done"
        release.built_at, release.error_code, release.error_detail = utcnow(), None, None
        session.execute(delete(ReleaseUnit).where(ReleaseUnit.release_id == release_id))
        session.add_all(ReleaseUnit(release_id=release_id, unit_code=u["code"]) for u in snapshot["units"])
        session.commit()
        return ReleaseStatus.READY.value


def _reading(session_factory: Any) -> Any:
    """Where a build reads the answers: the app's read replica (after it has replayed everything the
    primary had written, see :func:`survey.store.db.reading_sessionmaker`) when ``session_factory``
    is the app's own, else ``session_factory`` itself."""
    from flask import has_app_context

    from survey.store.db import reading_sessionmaker

    if has_app_context() and session_factory is current_app.extensions.get("hailong.sessionmaker"):
        return reading_sessionmaker(current_app)
    return session_factory


def _fail(session_factory: Any, release_id: int, code: str, params: dict[str, str]) -> None:
    import json

    with session_factory() as session:
        release = session.get(Release, release_id)
        if release is not None and release.status == ReleaseStatus.DRAFT:
            release.status, release.error_code = ReleaseStatus.FAILED, code
            release.error_detail = json.dumps(params, ensure_ascii=False)
            session.commit()


def rebuild(session: Session, release: Release, user: User | None) -> Release:
    """Send a draft back to be built again: after late approvals, after a failure, or when its
    job was lost (a worker stopped in the middle; building twice stores the same numbers)."""
    _require(user, PREPARERS, _("Only an analyst can rebuild a release."))
    if release.status not in OPEN:
        raise Conflict(_("Only a draft can be built again."))
    release.status, release.progress, release.stage = ReleaseStatus.DRAFT, 0, "queued"
    release.error_code = release.error_detail = None
    return release


def discard(session: Session, release: Release, user: User | None) -> None:
    """Delete a draft that was never published."""
    _require(user, PREPARERS, _("Only an analyst can discard a draft."))
    if release.status in PUBLIC:
        raise Conflict(_("A published release is never deleted: withdraw it with a notice."))
    session.delete(release)


def publish(session: Session, release: Release, user: User) -> Release:
    """Approve and publish a built release: its snapshot is fixed with its hash, for good."""
    _require(user, PUBLISHERS, _("Only a publisher can approve and publish a release."))
    if release.created_by_id is not None and release.created_by_id == user.id:
        raise Forbidden(_("You prepared this release: another account must approve it."))
    if release.status != ReleaseStatus.READY or release.snapshot is None:
        raise Conflict(_("Only a built release that is not yet published can be published."))
    now = utcnow()
    document = dict(release.snapshot)
    document["release"] = {**document["release"], "status": ReleaseStatus.PUBLISHED.value,
                           "published_at": moment(now)}
    # One statement that only a still-unpublished release matches: two publishers clicking at
    # the same moment publish it once.
    done = session.execute(
        update(Release).where(Release.id == release.id, Release.status == ReleaseStatus.READY)
        .values(snapshot=document, content_hash=content_hash(document), status=ReleaseStatus.PUBLISHED,
                published_at=now, published_by_id=user.id)
        .execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 0) != 1:
        raise Conflict(_("Only a built release that is not yet published can be published."))
    session.refresh(release)
    render_after_commit(session, release.id)  # its pages, rendered before the first reader asks
    return release


def withdraw(session: Session, release: Release, user: User, notice: str) -> Release:
    """Withdraw a published release with a public notice (its numbers stay as they were)."""
    _require(user, PUBLISHERS, _("Only a publisher can withdraw a release."))
    if release.status != ReleaseStatus.PUBLISHED:
        raise Conflict(_("Only a published release can be withdrawn."))
    if not notice.strip():
        raise AppError(_("Write the public notice that explains the withdrawal."), {"notice": ""})
    release.status, release.withdrawn_at, release.withdrawn_by_id = ReleaseStatus.WITHDRAWN, utcnow(), user.id
    release.withdrawal_notice = notice.strip()
    session.flush()
    render_after_commit(session, release.id)  # its pages now carry the notice
    return release
