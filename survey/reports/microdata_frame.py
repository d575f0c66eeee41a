"""Response-level data for analysts (staff only): every response to a questionnaire in a unit
(with everything below it), optionally one service and one quarter, one column per question of
every version (question ids are stable, so versions share columns; retired questions keep
theirs), codes or answer labels in either language, with design and review columns.

Never exported: the dossier code (it is not even stored), questions marked ``personal``, and free
text (comments may name people) — so the file can go to an analyst without personal data.
"""

from __future__ import annotations

import json

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from exports.microdata import Microdata, Variable
from questionnaires import Question, Questionnaire, load_library
from questionnaires.loader import version_key
from questionnaires.types import TYPES
from survey.periods import VIETNAM, local, quarter
from survey.reports.frames import stored_answers, stored_responses
from survey.reports.sipas_tables import subtree_ids
from survey.store.models import Channel, ReviewStatus, Service, Unit

EXCLUDED_TYPES = frozenset(name for name, t in TYPES.items() if not t.in_microdata)
"""Types never exported (free text, dossier codes, notes, calculations): from the type registry."""



def exported_questions(questionnaire_id: str) -> list[Question]:
    """The questions of every version, newest version first, each id once; the ones that may
    carry personal data left out."""
    versions = sorted((q for (qid, _v), q in load_library().items() if qid == questionnaire_id),
                      key=lambda q: version_key(q.version), reverse=True)
    seen: dict[str, Question] = {}
    for version in versions:
        for question in version.questions:
            if question.id not in seen and question.type not in EXCLUDED_TYPES and not question.personal:
                seen[question.id] = question
    return list(seen.values())


def microdata(
    session: Session, questionnaire: Questionnaire, unit: Unit, *, service: Service | None, period: str | None,
    language: str, labels: bool,
) -> Microdata:
    """The responses as a :class:`~exports.microdata.Microdata`; ``labels`` writes answer texts
    instead of codes (the value labels are in the SPSS and Stata files either way)."""
    from survey.store.units import UnitMap

    questions = exported_questions(questionnaire.id)
    unit_map = UnitMap(session)
    unit_ids, service_ids = subtree_ids(session, unit), [service.id] if service is not None else None
    split = unit_map.splits_in(unit)
    todays = bool(split)  # re-aggregated only where a split old commune has a part inside ``unit``
    if todays:  # a split old commune counts in every unit of today's map one of its parts went to
        inside = set(unit_map.tree(unit_map.now).subtree(unit.id))
        unit_ids = sorted(set(unit_ids) | split)
    # the one DB→DataFrame bridge (frames.py)
    design = stored_responses(session, questionnaire.id, unit_ids=unit_ids, service_ids=service_ids)
    if period is not None:
        design = design[[quarter(t) == period for t in design["submitted_at"]]].reset_index(drop=True)
    if todays:
        # re-aggregated onto today's map (:meth:`UnitMap.reaggregate`): a response of a split old
        # commune is one row per part inside ``unit``, its weight × the part's share
        by_code = {u.code: uid for uid, u in unit_map.units.items()}
        again = unit_map.reaggregate(design.assign(unit_id=design["unit_code"].map(by_code)))
        again = again[again["today_unit"].isin(inside)].reset_index(drop=True)
        codes = {uid: u.code for uid, u in unit_map.units.items()}
        design = again.drop(columns=["unit_id", "cluster", "today_unit", "share"])
        design.insert(4, "unit_today_code", again["today_unit"].astype(int).map(codes))
        design.insert(5, "share", again["share"].astype(float))
    rows = len(design)
    if rows:  # a datetime variable in Vietnam time (ISO 8601 with +07:00 in CSV and XLSX)
        design["submitted_at"] = pd.to_datetime([local(t) for t in design["submitted_at"]], utc=True).tz_convert(VIETNAM)
    by_id = {q.id: q for q in questions}
    # a question whose id is a design column (SIPAS asks its own "channel") gets a column of its own
    column_of = {q.id: q.id if q.id not in DESIGN_COLUMNS else f"q_{q.id}" for q in questions}
    answers: dict[str, dict[str, object]] = {q.id: {} for q in questions}
    ids = set(design["response_id"])
    if ids:
        stored = stored_answers(session, questionnaire.id, list(by_id), unit_ids=unit_ids, service_ids=service_ids)
        for response_id, question_id, number, text in stored.itertuples(index=False):
            if response_id in ids:
                number = None if pd.isna(number) else number
                answers[question_id][response_id] = _value(by_id[question_id], number, text, language, labels)
    for q in questions:
        design[column_of[q.id]] = design["response_id"].map(answers[q.id])
        if not labels and _numeric(q):
            design[column_of[q.id]] = pd.to_numeric(design[column_of[q.id]], errors="coerce")
    service_names = {s.code: s.name(language) for s in session.scalars(
        select(Service).where(Service.code.in_(sorted(set(design["service_code"])))))} if rows else {}
    design.insert(list(design.columns).index("service_code") + 1, "service_name", design["service_code"].map(service_names))
    return Microdata(title=microdata_title(questionnaire, unit, service, period, language), frame=design,
                     variables=microdata_variables(questions, language, labels, reaggregated=todays))


def microdata_variables(questions: list[Question], language: str, labels: bool, *,
                        reaggregated: bool = False) -> tuple[Variable, ...]:
    """The export's variables, in column order: the design columns (with ``reaggregated`` the
    unit of today's map and the share of each row), then one per question (codes with their value
    labels and missing codes, or with ``labels`` the answer texts)."""
    column_of = {q.id: q.id if q.id not in DESIGN_COLUMNS else f"q_{q.id}" for q in questions}
    return (
        Variable("response_id", _("Response id (made on the device)"), identifier=True),
        Variable("version", _("Questionnaire version"), identifier=True),
        Variable("unit_code", _("Unit code"), identifier=True),
        Variable("unit_name", _("Unit")),
        *((Variable("unit_today_code", _("Unit of today's map the row is counted in (re-aggregated)"), identifier=True),
           Variable("share", _("Share of the response in that unit (a commune split in July 2025: its share, else 1); "
                               "the weight is multiplied by it, and the rows of one response are one respondent: "
                               "cluster on response_id"))) if reaggregated else ()),
        Variable("service_code", _("Service code"), identifier=True),
        Variable("service_name", _("Service")),
        Variable("channel", _("Channel (kiosk, enumerator, web)"), categories=channel_labels()),
        Variable("submitted_at", _("Submitted at (Vietnam time, UTC+07:00)")),
        Variable("review_status", _("Review status"), categories=review_labels()),
        Variable("flag", _("Review flag (burst, unregistered kiosk)")),
        Variable("weight", _("Weight")),
        *(Variable(column_of[q.id], q.label.get(language), _value_labels(q, language) if not labels else None,
                   missing=_missing_codes(q) if not labels else ())
          for q in questions),
    )


def microdata_title(questionnaire: Questionnaire, unit: Unit, service: Service | None, period: str | None,
                    language: str) -> str:
    """The export's title: the questionnaire, the unit, the service and the quarter chosen."""
    return " — ".join(part for part in (questionnaire.title.get(language), unit.name,
                                        service.name(language) if service else None, period) if part)


DESIGN_COLUMNS = frozenset({"response_id", "version", "unit_code", "unit_name", "unit_today_code", "share",
                            "service_code", "service_name", "channel", "submitted_at", "review_status", "flag",
                            "weight"})


def channel_labels() -> dict[str, str]:
    """Each channel's code → its name in the current language."""
    names = {Channel.KIOSK: _("Kiosk at the one-stop desk"), Channel.ENUMERATOR: _("Enumerator interview"),
             Channel.WEB: _("Public link or QR code")}
    return {c.value: names[c] for c in Channel}


def review_labels() -> dict[str, str]:
    """Each review status's code → its name in the current language."""
    names = {ReviewStatus.RECEIVED: _("Received, not reviewed"), ReviewStatus.APPROVED: _("Approved"),
             ReviewStatus.REJECTED: _("Rejected"), ReviewStatus.HAS_ISSUES: _("Has issues: back to the enumerator"),
             ReviewStatus.SUPERVISOR_APPROVED: _("Approved by the supervisor, waiting for the province"),
             ReviewStatus.SUPERVISOR_REJECTED: _("Rejected by the supervisor, waiting for the province")}
    return {s.value: names[s] for s in ReviewStatus}


def _missing_codes(question: Question) -> tuple[float, ...]:
    """The codes of answers that are stored but are not values ("don't know", "not applicable")."""
    if not _numeric(question):
        return ()
    return tuple(float(c.value) for c in question.choices if not c.scored and isinstance(c.value, int | float))


def _numeric(question: Question) -> bool:
    kind = TYPES[question.type]
    return kind.answer in {"number", "bool"} and all(isinstance(c.value, int | float) for c in question.choices)


def _value_labels(question: Question, language: str) -> dict[float, str] | None:
    if question.type == "yesno":
        return {1.0: _("Yes"), 0.0: _("No")}
    if _numeric(question) and question.choices:
        return {float(c.value): c.label.get(language) for c in question.choices}
    return None


def _value(question: Question, number: float | None, text: str | None, language: str, labels: bool) -> object:
    """One stored answer as exported: the code, or with ``labels`` the answer's text."""
    if number is not None and not labels:
        return number
    choices: dict[object, str] = {c.value: c.label.get(language) for c in question.choices}
    if question.type == "yesno" and number is not None:
        return _("Yes") if number == 1 else _("No")
    if question.type == "multiple" and text:
        codes = json.loads(text)
        return " ".join(str(c) for c in codes) if not labels else "; ".join(str(choices.get(c, c)) for c in codes)
    if number is not None:
        code = int(number) if float(number).is_integer() else number
        return choices.get(code, number)
    if text is None:
        return None
    return choices.get(text, text) if labels else text
