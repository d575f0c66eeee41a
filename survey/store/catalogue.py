"""Questionnaire versions in the database: publishing a library definition, looking it up.

Publishing stores the definition with its content hash. Publishing the same ``(id, version)``
again with different content is refused: a published version never changes; a change needs a
new version number.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from questionnaires import Questionnaire, load_library
from questionnaires.loader import version_key
from survey.store import compact
from survey.store.models import QuestionnaireVersion, utcnow


class VersionConflict(ValueError):
    pass


def publish(session: Session, questionnaire: Questionnaire) -> QuestionnaireVersion:
    """Store ``questionnaire`` as a published version (idempotent for identical content)."""
    row = session.scalar(
        select(QuestionnaireVersion).where(
            QuestionnaireVersion.questionnaire_id == questionnaire.id,
            QuestionnaireVersion.version == questionnaire.version,
        )
    )
    if row is not None:
        if row.content_hash != questionnaire.content_hash:
            raise VersionConflict(
                f"{questionnaire.id} version {questionnaire.version} is already published with other content; "
                "give the changed questionnaire a new version"
            )
        return row
    row = QuestionnaireVersion(
        questionnaire_id=questionnaire.id,
        version=questionnaire.version,
        content_hash=questionnaire.content_hash,
        definition=questionnaire.to_dict(),
        published_at=utcnow(),
    )
    session.add(row)
    session.flush()
    compact.write_slots(session, row.id, row.definition)  # where its packed answers go
    return row


def publish_library(session: Session) -> list[QuestionnaireVersion]:
    return [publish(session, q) for q in load_library().values()]


def latest(questionnaire_id: str) -> Questionnaire:
    """The newest library version of ``questionnaire_id`` (``2025.10`` is newer than ``2025.2``)."""
    versions = [q for (qid, _v), q in load_library().items() if qid == questionnaire_id]
    if not versions:
        raise LookupError(f"unknown questionnaire {questionnaire_id!r}")
    return max(versions, key=lambda q: version_key(q.version))


def in_use(session: Session) -> list[Questionnaire]:
    """The latest library version of every questionnaire a desk asks or a response answered,
    in id order (ids no longer in the library are left out).

    Responses are asked about per published questionnaire (one probe of the index that leads
    with ``questionnaire_id`` each), not with a DISTINCT over every response: that scan took
    0.15 s of each staff page at a million ratings (``bench/bench_scale.py``)."""
    from survey.store.models import Desk, Response

    answered = select(QuestionnaireVersion.questionnaire_id).distinct().where(
        exists().where(Response.questionnaire_id == QuestionnaireVersion.questionnaire_id))
    ids = set(session.scalars(select(Desk.questionnaire_id))) | set(session.scalars(answered))
    found = []
    for questionnaire_id in sorted(ids):
        try:
            found.append(latest(questionnaire_id))
        except LookupError:
            continue
    return found
