"""Targets: what a province or district has promised to reach, and how far it has come.

Provincial action plans set goals per index and year — an absolute score ("Transparency above
6.00 in 2018", "satisfaction above 90% in 2026") or a rise over a base year ("every dimension 10%
above 2015"). Staff record them here for a unit: the PAPI total or a dimension, or the overall
satisfaction index of a satisfaction questionnaire (typed as a percentage, stored as the share the
index is). The PAPI page shows each PAPI goal beside the unit's current score with the gap,
whether it is reached and the progress since the base year,
``(current − base) / (target − base)`` (:func:`scoring.compare.progress`); the ranking page shows
each unit's satisfaction goal for the year beside its index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import DecimalField, IntegerField
from wtforms.validators import InputRequired, Optional, ValidationError

from questionnaires import Questionnaire
from survey.auth import scope_of, staff_required
from survey.collect.forms import ChoiceField, PickField, stop_if_unparsed
from survey.errors import NotFound
from survey.i18n import current_language
from survey.reports.papi_tables import PAPI_QUESTIONNAIRE, score_ranges
from survey.reports.sipas_tables import scored_as_sipas
from survey.store.catalogue import in_use, latest
from survey.store.db import get_session
from survey.store.models import Target, TargetKind, Unit, UnitLevel
from survey.text import sort_key

bp = Blueprint("targets", __name__, url_prefix="/staff/targets")

PAPI = PAPI_QUESTIONNAIRE
TARGET_LEVELS = (UnitLevel.PROVINCE, UnitLevel.DISTRICT, UnitLevel.COMMUNE)
OVERALL = "overall"  # the score id of a satisfaction questionnaire's overall index


def score_choices(language: str, satisfaction: list[Questionnaire]) -> list[tuple[str, str]]:
    """The scores a goal can be set for, as ``questionnaire:score``: the PAPI total and each
    dimension, then the overall index of each satisfaction questionnaire in use."""
    papi = latest(PAPI)
    overall = _("Overall satisfaction index")
    return [
        (f"{PAPI}:total", _("PAPI total")),
        *((f"{PAPI}:{e.id}", f"PAPI — {e.label.get(language)}") for e in papi.elements),
        *((f"{q.id}:{OVERALL}", f"{overall} — {q.title.get(language)}") for q in satisfaction),
    ]


def is_satisfaction(questionnaire_id: str, score_id: str) -> bool:
    """Is the goal on a satisfaction index (a share, typed and shown as a percentage)?"""
    return questionnaire_id != PAPI and score_id == OVERALL


def _years(low: int, high: int, message: Any) -> Callable[[Any, Any], None]:
    """wtforms' NumberRange for a whole year, compared as integers: NumberRange turns the value
    into a float first, which a 400-digit year overflows (a 500 the campaign's fuzzing found)."""

    def check(_form: Any, field: Any) -> None:
        if field.data is not None and not low <= field.data <= high:
            raise ValidationError(str(message))

    return check


class TargetForm(FlaskForm):
    unit = PickField(_l("Unit"), invalid_message=_l("Choose a unit from the list."),
                     validators=[InputRequired(_l("Choose a unit."))])
    score = PickField(_l("Index or dimension"), invalid_message=_l("Choose a score from the list."),
                      validators=[InputRequired(_l("Choose a score."))])
    year = IntegerField(_l("Target year"), invalid_value_message=_l("Give the target year, such as 2027."),
                        validators=[InputRequired(_l("Give the target year, such as 2027.")), stop_if_unparsed,
                                    _years(2000, 2100, _l("The target year must be between 2000 and 2100."))])
    kind = ChoiceField(_l("Kind of goal"), choices=[
        (TargetKind.SCORE.value, _l("Reach a score")),
        (TargetKind.INCREASE_PCT.value, _l("Raise the score by a percentage over a base year"))],
        default=TargetKind.SCORE.value, invalid_message=_l("Choose the kind of goal."),
        validators=[InputRequired(_l("Choose the kind of goal."))])
    value = DecimalField(_l("Score or percentage"), places=None,
                         invalid_value_message=_l("Give the score or the percentage as a number, such as 6.5."),
                         validators=[InputRequired(_l("Give the score or the percentage.")), stop_if_unparsed])
    base_year = IntegerField(_l("Base year"), invalid_value_message=_l("Give the base year, such as 2025."),
                             validators=[Optional(), stop_if_unparsed,
                                         _years(1990, 2100, _l("The base year must be between 1990 and 2100."))])

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.value.data.is_finite():  # NaN, sNaN, Infinity parse as decimals
            self.value.errors = [_("Give the score or the percentage as a number, such as 6.5.")]
            return False
        value = float(self.value.data)
        if self.base_year.data is not None and not self.base_year.data < self.year.data:
            self.base_year.errors = [_("The base year must come before the target year.")]
            return False
        if self.kind.data == TargetKind.INCREASE_PCT.value:
            if self.base_year.data is None:
                self.base_year.errors = [_("A percentage goal needs the base year it is measured from.")]
                return False
            if not 0 < value <= 500:
                self.value.errors = [_("The percentage must be above 0 and at most 500.")]
                return False
            return True
        questionnaire_id, score_id = self.score.data.split(":", 1)
        if is_satisfaction(questionnaire_id, score_id):
            low, high = 0.0, 100.0  # a percentage of satisfied answers
        else:
            low, high = score_ranges(len(latest(PAPI).elements))["total" if score_id == "total" else "dimension"]
        if not low <= value <= high:
            self.value.errors = [_("This score lies between %(low)s and %(high)s.", low=f"{low:g}", high=f"{high:g}")]
            return False
        return True


def _form(choices: list[tuple[str, str]], units: list[Unit]) -> TargetForm:
    form = TargetForm()
    form.unit.choices = [(u.code, u.name) for u in units]
    form.score.choices = choices
    return form


@bp.route("/", methods=["GET", "POST"])
@staff_required
def index() -> Any:
    session = get_session()
    choices = score_choices(current_language(), [q for q in in_use(session) if scored_as_sipas(q)])
    units = sorted(scope_of().view_units(session.scalars(select(Unit).where(Unit.level.in_(TARGET_LEVELS))).all()),
                   key=lambda u: (TARGET_LEVELS.index(u.level), sort_key(u.name)))
    form = _form(choices, units)
    if request.method == "GET" and request.args.get("unit"):
        form.unit.data = request.args["unit"]
    if form.validate_on_submit():
        unit = session.scalars(select(Unit).where(Unit.code == form.unit.data)).one()
        kind = TargetKind(form.kind.data)
        questionnaire_id, score_id = form.score.data.split(":", 1)
        value = float(form.value.data)
        if kind == TargetKind.SCORE and is_satisfaction(questionnaire_id, score_id):
            value /= 100  # typed as a percentage; the index is a share
        session.add(Target(
            unit_id=unit.id, questionnaire_id=questionnaire_id, score_id=score_id, year=form.year.data,
            kind=kind, value=value, base_year=form.base_year.data,
            user_id=current_user.id if current_user.is_authenticated else None,
        ))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            form.year.errors = [_("This unit already has a goal for this score and year; delete it first.")]
        else:
            flash(_("The goal was saved."))
            return redirect(url_for("targets.index"), code=303)
    labels = dict(choices)
    order = list(labels)
    targets = sorted(session.scalars(select(Target).where(scope_of().view_clause(Target.unit_id))).all(), key=lambda t: (
        sort_key(t.unit.name), t.year, order.index(_key(t)) if _key(t) in labels else len(order)))
    return render_template("staff/targets.html", form=form, targets=targets, labels=labels, key=_key,
                           is_satisfaction=is_satisfaction), (422 if request.method == "POST" else 200)


def _key(target: Target) -> str:
    return f"{target.questionnaire_id}:{target.score_id}"


@bp.route("/<int:target_id>/delete", methods=["POST"])
@staff_required
def delete(target_id: int) -> Any:
    session = get_session()
    target = session.get(Target, target_id)
    if target is not None and not scope_of().can_enter(target.unit_id):  # outside the scope (issue 11)
        raise NotFound(_("This page does not exist."))
    if target is not None:
        session.delete(target)
        session.commit()
        flash(_("The goal was deleted."))
    return redirect(url_for("targets.index"), code=303)
