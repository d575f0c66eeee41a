"""The one registry of question types.

Every consumer — the loader (:mod:`questionnaires.loader`), the XLSForm export and import
(:mod:`questionnaires.xlsform`), the web form builder (``survey/collect/forms.py``), the
analysts' files (microdata) and the browser scripts (which receive the type in each question's
JSON) — reads what a type is from here, and keys its own builders by :attr:`QuestionType.name`.
A test checks that every consumer covers every type, so a new type cannot silently become a
"note" somewhere and lose its answers.

``questionnaires/SCHEMA.md`` documents every type (a test keeps the two in step).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["CHOICE_TYPES", "TYPES", "QuestionType", "question_type"]


@dataclass(frozen=True)
class QuestionType:
    """What a question type is, for every part of the product.

    ``answer`` is the kind of value stored: ``number`` (scored or counted), ``text``, ``list``
    (several choices), ``date``, ``bool`` or ``none`` (nothing is answered). ``choices`` says
    whether the answers come from a choice list; ``options`` are the type-specific settings a
    definition may give; ``personal`` is the default of a question's ``personal:`` field;
    ``in_microdata`` whether its answers may go into analysts' files at all (free text and
    dossier codes never do); ``xlsform`` is the XLSForm type it exports to (``appearance`` with it).
    """

    name: str
    answer: str
    choices: bool = False
    options: frozenset[str] = frozenset()
    personal: bool = False
    in_microdata: bool = True
    xlsform: str = "text"
    appearance: str | None = None

    @property
    def answered(self) -> bool:
        """Whether the respondent gives an answer (a note does not; a calculation is computed)."""
        return self.answer != "none" and self.name != "calculate"

    @property
    def numeric(self) -> bool:
        return self.answer == "number"


TYPES: Mapping[str, QuestionType] = {
    t.name: t
    for t in (
        QuestionType("scale5", "number", choices=True, xlsform="select_one"),
        QuestionType("rating", "number", choices=True, xlsform="select_one"),
        QuestionType("single", "number", choices=True, xlsform="select_one"),
        QuestionType("multiple", "list", choices=True, xlsform="select_multiple"),
        QuestionType("yesno", "number", xlsform="select_one"),
        QuestionType("integer", "number", options=frozenset({"min", "max"}), xlsform="integer"),
        QuestionType("decimal", "number", options=frozenset({"min", "max"}), xlsform="decimal"),
        QuestionType("text", "text", options=frozenset({"max_length", "pattern"}), in_microdata=False),
        QuestionType("longtext", "text", options=frozenset({"max_length"}), in_microdata=False,
                     appearance="multiline"),
        QuestionType("date", "date", xlsform="date"),
        QuestionType("dossier_code", "text", options=frozenset({"pattern", "max_length"}), personal=True,
                     in_microdata=False),
        QuestionType("consent", "bool", xlsform="acknowledge"),
        QuestionType("note", "none", in_microdata=False, xlsform="note"),
        QuestionType("calculate", "text", in_microdata=False, xlsform="calculate"),
    )
}
"""Every question type, by name."""

CHOICE_TYPES = frozenset(name for name, t in TYPES.items() if t.choices)
"""Types whose answers come from a list of choices."""


def question_type(name: str) -> QuestionType:
    """The type called ``name``; a :class:`KeyError` names the known ones."""
    try:
        return TYPES[name]
    except KeyError:
        raise KeyError(f"unknown question type {name!r} (known: {', '.join(sorted(TYPES))})") from None
