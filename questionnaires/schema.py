"""The vocabulary of a questionnaire definition: which fields each part of a file accepts.

``questionnaires/SCHEMA.md`` documents every field and type named here; a test keeps the page
and these tables in step. What a question *type* is lives in :mod:`questionnaires.types`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from questionnaires.types import CHOICE_TYPES, TYPES

__all__ = [
    "CHOICE_FIELDS",
    "CHOICE_TYPES",
    "DIRECTIONS",
    "ELEMENT_FIELDS",
    "EXTENDS_QUESTION_FIELDS",
    "FRAGMENT_FIELDS",
    "KINDS",
    "OPTION_FIELDS",
    "OVERALL_RULES",
    "QUESTIONNAIRE_FIELDS",
    "QUESTION_FIELDS",
    "QUESTION_TYPES",
    "SCORING_FIELDS",
    "SECTION_FIELDS",
    "SUBDIMENSION_FIELDS",
    "TYPE_OPTIONS",
]

QUESTION_TYPES = frozenset(TYPES)
"""Every question type the loader accepts (documented in ``questionnaires/SCHEMA.md``)."""

TYPE_OPTIONS: Mapping[str, frozenset[str]] = {name: t.options for name, t in TYPES.items() if t.options}
"""Type-specific options (kept in ``Question.options``); any other type takes none."""

OPTION_FIELDS = frozenset().union(*TYPE_OPTIONS.values())

QUESTION_FIELDS = frozenset(
    {
        "id",
        "type",
        "label",
        "hint",
        "required",
        "required_message",
        "choices",
        "choice_filter",
        "relevant",
        "constraint",
        "constraint_message",
        "calculation",
        "default",
        "appearance",
        "section",
        "element",
        "subdimension",
        "indicator",
        "direction",
        "satisfied",
        "bounds",
        "personal",
        "retired",
    }
    | OPTION_FIELDS
)
"""Every field a question accepts (besides ``after``/``remove`` inside ``extends``)."""

EXTENDS_QUESTION_FIELDS = frozenset({"after", "before", "remove"})

QUESTIONNAIRE_FIELDS = frozenset(
    {
        "id",
        "version",
        "kind",
        "title",
        "description",
        "notes",
        "languages",
        "extends",
        "include",
        "scoring",
        "choice_lists",
        "sections",
        "questions",
    }
)
"""Every top-level field of a questionnaire file."""

SCORING_FIELDS = frozenset({"satisfied", "overall_rule", "overall_question", "elements", "subdimensions"})
ELEMENT_FIELDS = frozenset({"id", "label", "max_points"})
SUBDIMENSION_FIELDS = frozenset({"id", "element", "label"})
SECTION_FIELDS = frozenset({"id", "label", "appearance"})
CHOICE_FIELDS = frozenset({"value", "label", "scored", "properties"})
FRAGMENT_FIELDS = frozenset({"choice_lists", "sections", "questions", "description", "include"})

KINDS = frozenset({"sipas", "papi", "service", "survey"})
OVERALL_RULES = frozenset({"par_weighted", "mean", "overall_item", "papi_sum", "none"})
DIRECTIONS = frozenset({"positive", "reverse"})
APPEARANCES = frozenset({"field-list", "multiline", "likert", "minimal", "horizontal", "horizontal-compact",
                         "quick", "columns", "columns-pack", "no-buttons", "label", "list-nolabel", "list",
                         "table-list", "numbers", "thousands-sep", "autocomplete", "search", "compact"})
"""XLSForm appearances a question or section may keep (they pass to ODK unchanged)."""
ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]*$")
