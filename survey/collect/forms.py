"""Build a WTForms form class from a questionnaire: the one place validation rules live.

``build_form(questionnaire, language)`` returns a ``FlaskForm`` subclass with one field per
question this version asks (field name = question id; retired questions are not asked).
Messages are in the respondent's language. A question with skip logic (``relevant``) is only
validated when it is shown, judged on the answers to the questions before it exactly as the
browser does (``survey/static/js/skiplogic.js``); an answer to a hidden question is dropped by
:func:`answers_from_form`. Constraints (``constraint`` expressions, ranges, lengths, the
dossier-code format) are checked here, so the server is the single source of truth.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    Field,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
    widgets,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
)

from questionnaires import Question, Questionnaire
from questionnaires.model import DEFAULT_DOSSIER_PATTERN

__all__ = ["DEFAULT_DOSSIER_PATTERN", "answers_from_form", "build_form", "shown_questions", "visible_answers"]


class _InvalidChoiceMessage:
    """Say "not one of the answers shown" in the respondent's language (WTForms has no Vietnamese)."""

    invalid_message = ""

    def pre_validate(self, form: Any) -> None:
        try:
            super().pre_validate(form)  # type: ignore[misc]
        except ValueError:
            raise ValidationError(self.invalid_message) from None


class ChoiceField(_InvalidChoiceMessage, RadioField):
    def __init__(self, *args: Any, invalid_message: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message


class PickField(_InvalidChoiceMessage, SelectField):
    """A drop-down list whose "not one of the choices" error is in the user's language."""

    def __init__(self, *args: Any, invalid_message: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message


class MultiCheckboxField(_InvalidChoiceMessage, SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def __init__(self, *args: Any, invalid_message: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message


class _NoWidget:
    def __call__(self, field: Field, **kwargs: Any) -> str:
        return ""


class NoteField(Field):
    """A "note": text shown to the respondent, with no answer."""

    widget = _NoWidget()

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None


def _coerce_choice(value: Any) -> Any:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def _walk(questionnaire: Questionnaire, form: Any, upto: str | None = None) -> tuple[dict[str, Any], list[str]]:
    from questionnaires.expressions import evaluate

    answers: dict[str, Any] = {}
    shown_ids: list[str] = []
    for question in questionnaire.active_questions():
        if question.id == upto:
            break
        shown = not question.relevant or evaluate(question.relevant, answers)
        answers[question.id] = form[question.id].data if shown and question.id in form else None
        if shown:
            shown_ids.append(question.id)
    return answers, shown_ids


def visible_answers(questionnaire: Questionnaire, form: Any, upto: str | None = None) -> dict[str, Any]:
    """Answers in questionnaire order, with hidden questions counted as unanswered.

    Stops before question ``upto`` (so skip logic sees only earlier answers, as in the browser).
    """
    return _walk(questionnaire, form, upto)[0]


def shown_questions(questionnaire: Questionnaire, form: Any) -> list[str]:
    """The ids of the questions the respondent is shown, given the answers in ``form``."""
    return _walk(questionnaire, form)[1]


class _Relevance:
    """Skip the other validators when the question is hidden by skip logic."""

    def __init__(self, questionnaire: Questionnaire, question: Question) -> None:
        self.questionnaire = questionnaire
        self.question = question
        self.field_flags = {"relevant": question.relevant}

    def __call__(self, form: Any, field: Field) -> None:
        from questionnaires.expressions import evaluate

        if self.question.relevant and not evaluate(
            self.question.relevant, visible_answers(self.questionnaire, form, upto=self.question.id)
        ):
            field.errors = []
            raise StopValidation()


class _Constraint:
    """The question's ``constraint`` expression, with ``.`` the answer; empty answers pass."""

    def __init__(self, questionnaire: Questionnaire, question: Question, message: str) -> None:
        self.questionnaire = questionnaire
        self.question = question
        self.message = message

    def __call__(self, form: Any, field: Field) -> None:
        from questionnaires.expressions import evaluate

        if field.data is None or field.data == "" or field.data == []:
            return
        answers = visible_answers(self.questionnaire, form, upto=self.question.id)
        answers[self.question.id] = field.data
        if not evaluate(str(self.question.constraint), answers, current=field.data):
            raise ValidationError(self.message)


def stop_if_unparsed(form: Any, field: Field) -> None:
    """An answer that could not be read (e.g. letters for a number) has its one message already."""
    if field.process_errors:
        raise StopValidation()


def _number(value: Any) -> Any:
    return None if value is None else (Decimal(str(value)) if isinstance(value, float) else value)


def _field_for(questionnaire: Questionnaire, question: Question, language: str) -> Field:
    label = question.label.get(language)
    description = question.hint.get(language) if question.hint else ""
    required_msg = _("Please answer this question.")
    own_message = question.constraint_message.get(language) if question.constraint_message else None
    validators: list[Any] = []
    required = question.required
    opts = question.options
    choices = [(c.value, c.label.get(language)) for c in question.choices]
    if question.constraint:
        validators.append(_Constraint(questionnaire, question, own_message or _("This answer is not accepted. Please check it.")))
    invalid = _("Please choose one of the answers shown.")
    if question.type in {"scale5", "rating", "single"}:
        return ChoiceField(label, choices=choices, coerce=_coerce_choice, description=description, validate_choice=True,
                           invalid_message=invalid,
                          validators=[InputRequired(required_msg) if required else Optional(), *validators])
    if question.type == "yesno":
        yes_no = [(1, _("Yes")), (0, _("No"))]
        return ChoiceField(label, choices=yes_no, coerce=_coerce_choice, description=description, invalid_message=invalid,
                          validators=[InputRequired(required_msg) if required else Optional(), *validators])
    if question.type == "multiple":
        return MultiCheckboxField(label, choices=choices, coerce=_coerce_choice, description=description,
                                  invalid_message=invalid,
                                  validators=[DataRequired(required_msg) if required else Optional(), *validators])
    if question.type in {"integer", "decimal"}:
        low, high = opts.get("min"), opts.get("max")
        if low is not None or high is not None:
            if low is not None and high is not None:
                message = _("Enter a number between %(low)s and %(high)s.", low=low, high=high)
            elif low is not None:
                message = _("Enter a number of at least %(low)s.", low=low)
            else:
                message = _("Enter a number of at most %(high)s.", high=high)
            validators.insert(0, NumberRange(min=_number(low), max=_number(high), message=message))
        not_number = _("Enter a whole number.") if question.type == "integer" else _("Enter a number.")
        chain = [InputRequired(required_msg) if required else Optional(), stop_if_unparsed, *validators]
        if question.type == "integer":
            return IntegerField(label, description=description, invalid_value_message=not_number, validators=chain)
        return DecimalField(label, description=description, invalid_value_message=not_number, validators=chain)
    if question.type in {"text", "longtext"}:
        limit = int(opts.get("max_length", 2000))
        validators.insert(0, Length(max=limit, message=_("Please keep this under %(n)s characters.", n=limit)))
        if opts.get("pattern"):
            validators.insert(1, Regexp(re.compile(str(opts["pattern"])),
                                        message=own_message or _("This answer is not accepted. Please check it.")))
        cls = TextAreaField if question.type == "longtext" else StringField
        return cls(label, description=description,
                   validators=[DataRequired(required_msg) if required else Optional(), *validators])
    if question.type == "date":
        return DateField(label, description=description, invalid_value_message=_("Enter a date."),
                         validators=[InputRequired(required_msg) if required else Optional(), stop_if_unparsed,
                                     *validators])
    if question.type == "dossier_code":
        pattern = str(opts.get("pattern", DEFAULT_DOSSIER_PATTERN))
        limit = int(opts.get("max_length", 40))
        message = own_message or _("This dossier code does not look right. Please check it on your receipt.")
        return StringField(label, description=description, filters=[lambda v: v.strip() if isinstance(v, str) else v],
                           validators=[DataRequired(required_msg) if required else Optional(),
                                       Length(max=limit, message=message), Regexp(re.compile(pattern), message=message),
                                       *validators])
    if question.type == "consent":
        return BooleanField(label, description=description,
                            validators=[DataRequired(_("Consent is needed to continue.")) if required else Optional()])
    return NoteField(label, description=description)  # "note": shows text only


_FORMS: dict[tuple[str, str, str, str], type[FlaskForm]] = {}


def _build(questionnaire: Questionnaire, language: str) -> type[FlaskForm]:
    with force_locale(language):
        attrs: dict[str, Any] = {}
        for question in questionnaire.active_questions():
            field = _field_for(questionnaire, question, language)
            if question.relevant:
                field.kwargs["validators"] = [_Relevance(questionnaire, question), *field.kwargs.get("validators", [])]
            attrs[question.id] = field
    return type(f"Form_{questionnaire.id}_{language}", (FlaskForm,), attrs)


def build_form(questionnaire: Questionnaire, language: str) -> type[FlaskForm]:
    """The form class for ``questionnaire`` in ``language`` (cached per version and language)."""
    key = (questionnaire.id, questionnaire.version, questionnaire.content_hash, language)
    if key not in _FORMS:
        _FORMS[key] = _build(questionnaire, language)
    return _FORMS[key]


def answers_from_form(questionnaire: Questionnaire, form: FlaskForm) -> dict[str, Any]:
    """The submitted answers, by question id, with empty answers and hidden questions left out."""
    visible = visible_answers(questionnaire, form)
    out: dict[str, Any] = {}
    for question in questionnaire.active_questions():
        value = visible.get(question.id)
        if value is None or value == "" or value == [] or question.type == "note":
            continue
        if question.type == "consent" and value is False:
            continue
        out[question.id] = value
    return out
