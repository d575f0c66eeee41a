"""Build a WTForms form class from a questionnaire: the one place validation rules live.

``build_form(questionnaire, language)`` returns a ``FlaskForm`` subclass with one field per
question this version asks (field name = question id; retired questions are not asked).
Messages are in the respondent's language. A question with skip logic (``relevant``) is only
validated when it is shown, judged on the answers to the questions before it exactly as the
browser does (``survey/static/js/skiplogic.js``); an answer to a hidden question is dropped by
:func:`answers_from_form`. Constraints (``constraint`` expressions, ranges, lengths, the
dossier-code format) are checked here, so the server is the single source of truth.

Each question type has one field builder in :data:`FIELD_BUILDERS`, keyed by the names of the
type registry (``questionnaires/types.py``); a type without a builder is a ``KeyError`` at
build time, never a silent "note" that drops its answers (a test checks the keys are the
registry's). A ``calculate`` question has no input: its value is computed here from the answers
before it (and in the browser by the same expression language) and stored with the answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
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
from questionnaires.types import TYPES

__all__ = ["DEFAULT_DOSSIER_PATTERN", "FIELD_BUILDERS", "answers_from_form", "build_form", "shown_questions",
           "visible_answers"]


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


class CalculateField(Field):
    """A ``calculate`` question: no input; whatever is posted for it is ignored, its value is
    computed from the answers before it (:func:`visible_answers`)."""

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
    from questionnaires.expressions import display, evaluate, value

    answers: dict[str, Any] = {}
    shown_ids: list[str] = []
    for question in questionnaire.active_questions():
        if question.id == upto:
            break
        shown = not question.relevant or evaluate(question.relevant, answers)
        if question.calculation is not None:
            result = value(question.calculation, answers) if shown else None
            answers[question.id] = display(result) if result is not None and display(result) not in {"", "NaN"} else None
        else:
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


class _ChoiceFilter:
    """The answer must be one of the choices the question's ``choice_filter`` offers, given the
    answers before it (the browser hides the others)."""

    def __init__(self, questionnaire: Questionnaire, question: Question, message: str) -> None:
        self.questionnaire = questionnaire
        self.question = question
        self.message = message

    def __call__(self, form: Any, field: Field) -> None:
        if field.data is None or field.data == "" or field.data == []:
            return
        allowed = {str(c.value) for c in offered_choices(self.questionnaire, self.question,
                                                        visible_answers(self.questionnaire, form, upto=self.question.id))}
        picked = field.data if isinstance(field.data, list) else [field.data]
        if any(str(v) not in allowed for v in picked):
            raise ValidationError(self.message)


def offered_choices(questionnaire: Questionnaire, question: Question, answers: Mapping[str, Any]) -> list[Any]:
    """The choices ``question`` offers given ``answers`` (all of them without a ``choice_filter``)."""
    from questionnaires.expressions import evaluate

    if not question.choice_filter:
        return list(question.choices)
    return [c for c in question.choices
            if evaluate(question.choice_filter, answers,
                        choice={**c.properties, "name": c.value, "label": c.label.get(questionnaire.languages[0])})]


def choice_properties(question: Question) -> str:
    """The choices' filter columns as JSON for the browser (``data-choices``)."""
    return json.dumps({str(c.value): {**c.properties, "name": str(c.value)} for c in question.choices},
                      ensure_ascii=False, sort_keys=True)


def stop_if_unparsed(form: Any, field: Field) -> None:
    """An answer that could not be read (e.g. letters for a number) has its one message already."""
    if field.process_errors:
        raise StopValidation()


def _number(value: Any) -> Any:
    return None if value is None else (Decimal(str(value)) if isinstance(value, float) else value)


class _Context:
    """What every field builder needs: the question's texts, messages and shared validators."""

    def __init__(self, questionnaire: Questionnaire, question: Question, language: str) -> None:
        self.questionnaire = questionnaire
        self.question = question
        self.label = question.label.get(language)
        self.description = question.hint.get(language) if question.hint else ""
        self.required = question.required
        self.required_msg = (question.required_message.get(language) if question.required_message
                             else _("Please answer this question."))
        self.own_message = question.constraint_message.get(language) if question.constraint_message else None
        self.validators: list[Any] = []
        if question.constraint:
            self.validators.append(_Constraint(questionnaire, question,
                                               self.own_message or _("This answer is not accepted. Please check it.")))
        self.invalid = _("Please choose one of the answers shown.")
        if question.choice_filter:
            self.validators.append(_ChoiceFilter(questionnaire, question, self.invalid))
            self.validators.append(_Flags(choice_filter=question.choice_filter, choices_json=choice_properties(question)))
        self.choices = [(c.value, c.label.get(language)) for c in question.choices]
        self.default = _default(question)

    def presence(self, kind: type[Any] = InputRequired) -> Any:
        return kind(self.required_msg) if self.required else Optional()


def _default(question: Question) -> Any:
    """The question's ``default`` as a value of its field (None if it does not read as one)."""
    raw = question.default
    if raw is None:
        return None
    if question.type == "multiple":
        return [_coerce_choice(v) for v in raw.split()]
    if TYPES[question.type].choices or question.type == "yesno":
        return _coerce_choice(raw)
    if question.type in {"integer", "decimal"}:
        try:
            return int(raw) if question.type == "integer" else Decimal(raw)
        except (ValueError, ArithmeticError):
            return None
    if question.type == "date":
        from datetime import date

        try:
            return date.fromisoformat(raw)
        except ValueError:
            return None
    if question.type == "consent":
        return raw.strip().lower() in {"true", "yes", "1", "true()"}
    return raw


def _choice(c: _Context) -> Field:
    return ChoiceField(c.label, choices=c.choices, coerce=_coerce_choice, description=c.description,
                       validate_choice=True, invalid_message=c.invalid, default=c.default,
                       validators=[c.presence(), *c.validators])


def _yesno(c: _Context) -> Field:
    yes_no = [(1, _("Yes")), (0, _("No"))]
    return ChoiceField(c.label, choices=yes_no, coerce=_coerce_choice, description=c.description,
                       invalid_message=c.invalid, default=c.default, validators=[c.presence(), *c.validators])


def _multiple(c: _Context) -> Field:
    return MultiCheckboxField(c.label, choices=c.choices, coerce=_coerce_choice, description=c.description,
                              invalid_message=c.invalid, default=c.default,
                              validators=[c.presence(DataRequired), *c.validators])


def _number_field(c: _Context) -> Field:
    opts = c.question.options
    validators = list(c.validators)
    low, high = opts.get("min"), opts.get("max")
    if low is not None or high is not None:
        if low is not None and high is not None:
            message = _("Enter a number between %(low)s and %(high)s.", low=low, high=high)
        elif low is not None:
            message = _("Enter a number of at least %(low)s.", low=low)
        else:
            message = _("Enter a number of at most %(high)s.", high=high)
        validators.insert(0, NumberRange(min=_number(low), max=_number(high), message=message))
    integer = c.question.type == "integer"
    not_number = _("Enter a whole number.") if integer else _("Enter a number.")
    chain = [c.presence(), stop_if_unparsed, *validators]
    cls = IntegerField if integer else DecimalField
    return cls(c.label, description=c.description, invalid_value_message=not_number, default=c.default,
               validators=chain)


def _text(c: _Context) -> Field:
    opts = c.question.options
    validators = list(c.validators)
    limit = int(opts.get("max_length", 2000))
    validators.insert(0, Length(max=limit, message=_("Please keep this under %(n)s characters.", n=limit)))
    if opts.get("pattern"):
        validators.insert(1, Regexp(re.compile(str(opts["pattern"])),
                                    message=c.own_message or _("This answer is not accepted. Please check it.")))
    cls = TextAreaField if c.question.type == "longtext" else StringField
    return cls(c.label, description=c.description, default=c.default,
               validators=[c.presence(DataRequired), *validators])


def _date(c: _Context) -> Field:
    return DateField(c.label, description=c.description, invalid_value_message=_("Enter a date."), default=c.default,
                     validators=[c.presence(), stop_if_unparsed, *c.validators])


def _dossier_code(c: _Context) -> Field:
    opts = c.question.options
    pattern = str(opts.get("pattern", DEFAULT_DOSSIER_PATTERN))
    limit = int(opts.get("max_length", 40))
    message = c.own_message or _("This dossier code does not look right. Please check it on your receipt.")
    return StringField(c.label, description=c.description, filters=[lambda v: v.strip() if isinstance(v, str) else v],
                       validators=[c.presence(DataRequired), Length(max=limit, message=message),
                                   Regexp(re.compile(pattern), message=message), *c.validators])


def _consent(c: _Context) -> Field:
    required = DataRequired(c.required_msg if c.question.required_message else _("Consent is needed to continue."))
    return BooleanField(c.label, description=c.description, default=c.default,
                        validators=[required if c.required else Optional()])


def _note(c: _Context) -> Field:
    return NoteField(c.label, description=c.description)


def _calculate(c: _Context) -> Field:
    return CalculateField(c.label, description=c.description, validators=[_Flags(calculate=c.question.calculation)])


class _Flags:
    """Carries values to the template through ``field.flags`` (as ``relevant`` does); validates nothing."""

    def __init__(self, **flags: Any) -> None:
        self.field_flags = flags

    def __call__(self, form: Any, field: Field) -> None:
        return None


FIELD_BUILDERS: Mapping[str, Callable[[_Context], Field]] = {
    "scale5": _choice,
    "rating": _choice,
    "single": _choice,
    "multiple": _multiple,
    "yesno": _yesno,
    "integer": _number_field,
    "decimal": _number_field,
    "text": _text,
    "longtext": _text,
    "date": _date,
    "dossier_code": _dossier_code,
    "consent": _consent,
    "note": _note,
    "calculate": _calculate,
}
"""One field builder per question type of ``questionnaires.types.TYPES`` (a test checks the keys)."""


def _field_for(questionnaire: Questionnaire, question: Question, language: str) -> Field:
    return FIELD_BUILDERS[question.type](_Context(questionnaire, question, language))


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
        if value is None or value == "" or value == [] or TYPES[question.type].answer == "none":
            continue
        if question.type == "consent" and value is False:
            continue
        out[question.id] = value
    return out
