"""Immutable questionnaire objects.

A :class:`Questionnaire` is identified by ``(id, version)``; its ``content_hash`` is the SHA-256
of its canonical JSON form, so a published version can be checked to never change. Question
ids are stable across versions, which is what lets results combine across versions; a question
that a newer version no longer asks stays in the definition with ``retired: true`` so that older
answers stay readable.

Scoring metadata lives here too, so that ``scoring/`` never duplicates it: which element
(SIPAS) or dimension (PAPI) each item feeds, its sub-dimension and indicator, its direction
(reverse-coded items), which answers count as "satisfied", and the theoretical bounds used to
rescale a PAPI indicator onto 1–10.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_LANGUAGE = "vi"
DEFAULT_DOSSIER_PATTERN = r"^[0-9A-Za-z.\-/]{4,40}$"
"""The dossier-code format check used when a ``dossier_code`` question sets no ``pattern``."""


def nfc(text: str) -> str:
    """Return ``text`` in Unicode normal form C (composed Vietnamese diacritics)."""
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True)
class Text:
    """A piece of text in several languages; Vietnamese is the default."""

    values: Mapping[str, str]

    def get(self, language: str = DEFAULT_LANGUAGE) -> str:
        """The text in ``language``, falling back to Vietnamese, then to any language."""
        if language in self.values:
            return self.values[language]
        if DEFAULT_LANGUAGE in self.values:
            return self.values[DEFAULT_LANGUAGE]
        return next(iter(self.values.values()), "")

    def to_dict(self) -> dict[str, str]:
        return dict(sorted(self.values.items()))


@dataclass(frozen=True)
class Choice:
    """One answer option. ``scored`` is false for "not applicable" and "don't know"."""

    value: int | str
    label: Text
    scored: bool = True
    properties: Mapping[str, str] = field(default_factory=dict)
    """Extra columns of the XLSForm choices sheet (e.g. ``district`` for a ``choice_filter``)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "label": self.label.to_dict(), "scored": self.scored}
        if self.properties:
            out["properties"] = dict(sorted(self.properties.items()))
        return out


@dataclass(frozen=True)
class Element:
    """A scoring group: a SIPAS element (with its PAR 8.1 maximum) or a PAPI dimension."""

    id: str
    label: Text
    max_points: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label.to_dict(), "max_points": self.max_points}


@dataclass(frozen=True)
class SubDimension:
    """A PAPI sub-dimension (or a SIPAS sub-group) inside an element/dimension."""

    id: str
    element: str
    label: Text

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "element": self.element, "label": self.label.to_dict()}


@dataclass(frozen=True)
class Section:
    """A heading that groups questions on the form (screening, the five elements, demographics)."""

    id: str
    label: Text
    appearance: str | None = None
    """XLSForm appearance of the group, e.g. ``field-list``: the whole section on one screen."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "label": self.label.to_dict()}
        if self.appearance:
            out["appearance"] = self.appearance
        return out


@dataclass(frozen=True)
class Question:
    """One question. ``element`` names the scoring group the item feeds, if any.

    ``options`` holds the type-specific settings (``min``, ``max``, ``max_length``, ``pattern``,
    ``step``); ``satisfied`` overrides the questionnaire's satisfied answers for this item;
    ``bounds`` are the theoretical (low, high) answers a PAPI indicator is rescaled from.
    ``calculation`` is the expression a ``calculate`` question's value is computed from,
    ``default`` the answer filled in before the respondent changes it, ``choice_filter`` an
    expression over each choice's ``properties`` that decides which choices are offered.
    """

    id: str
    type: str
    label: Text
    required: bool = False
    choices: tuple[Choice, ...] = ()
    hint: Text | None = None
    element: str | None = None
    relevant: str | None = None
    personal: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    constraint: str | None = None
    constraint_message: Text | None = None
    section: str | None = None
    subdimension: str | None = None
    indicator: str | None = None
    direction: str = "positive"
    satisfied: tuple[int | str, ...] | None = None
    bounds: tuple[float, float] | None = None
    retired: bool = False
    required_message: Text | None = None
    calculation: str | None = None
    default: str | None = None
    choice_filter: str | None = None
    appearance: str | None = None

    def scored_values(self) -> tuple[int | str, ...]:
        return tuple(c.value for c in self.choices if c.scored)

    @property
    def reverse(self) -> bool:
        """Whether a higher answer means a worse outcome (a reverse-coded item)."""
        return self.direction == "reverse"

    def rescale(self, answer: float) -> float:
        """A PAPI indicator answer rescaled linearly onto 1–10 using its theoretical ``bounds``.

        >>> q = Question("x", "rating", Text({"vi": "x"}), bounds=(1.0, 4.0))
        >>> q.rescale(4.0)
        10.0
        """
        if self.bounds is None:
            raise ValueError(f"question {self.id!r} has no bounds to rescale with")
        low, high = self.bounds
        share = (answer - low) / (high - low)
        if self.reverse:
            share = 1.0 - share
        return 1.0 + 9.0 * share

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "label": self.label.to_dict(),
            "required": self.required,
            "choices": [c.to_dict() for c in self.choices],
            "hint": self.hint.to_dict() if self.hint else None,
            "element": self.element,
            "relevant": self.relevant,
            "personal": self.personal,
            "options": dict(sorted(self.options.items())),
        }
        # Fields added after the first published versions appear only when set, so that the
        # canonical form (and the content hash) of an unchanged older definition stays the same.
        extra: dict[str, Any] = {
            "constraint": self.constraint,
            "constraint_message": self.constraint_message.to_dict() if self.constraint_message else None,
            "section": self.section,
            "subdimension": self.subdimension,
            "indicator": self.indicator,
            "direction": self.direction if self.direction != "positive" else None,
            "satisfied": list(self.satisfied) if self.satisfied is not None else None,
            "bounds": list(self.bounds) if self.bounds is not None else None,
            "retired": True if self.retired else None,
            "required_message": self.required_message.to_dict() if self.required_message else None,
            "calculation": self.calculation,
            "default": self.default,
            "choice_filter": self.choice_filter,
            "appearance": self.appearance,
        }
        out.update({k: v for k, v in extra.items() if v is not None})
        return out


@dataclass(frozen=True)
class Questionnaire:
    """A questionnaire version: metadata, scoring elements and questions, all immutable."""

    id: str
    version: str
    kind: str
    title: Text
    languages: tuple[str, ...]
    questions: tuple[Question, ...]
    elements: tuple[Element, ...] = ()
    satisfied: tuple[int, ...] = (4, 5)
    overall_rule: str = "par_weighted"
    description: Text | None = None
    source: str = ""
    subdimensions: tuple[SubDimension, ...] = ()
    sections: tuple[Section, ...] = ()
    notes: Text | None = None
    based_on: str | None = None
    choice_lists: Mapping[str, tuple[Choice, ...]] = field(default_factory=dict)
    overall_question: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.version)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    def active_questions(self) -> tuple[Question, ...]:
        """The questions this version asks (retired ones stay in the definition, unasked)."""
        return tuple(q for q in self.questions if not q.retired)

    def scored_questions(self) -> tuple[Question, ...]:
        """Questions this version asks that feed a scoring element, in questionnaire order."""
        return tuple(q for q in self.questions if q.element is not None and not q.retired)

    def satisfied_values(self, question: Question) -> tuple[int | str, ...]:
        """The answers that count as "satisfied" for ``question``."""
        return question.satisfied if question.satisfied is not None else tuple(self.satisfied)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "kind": self.kind,
            "title": self.title.to_dict(),
            "description": self.description.to_dict() if self.description else None,
            "languages": list(self.languages),
            "scoring": {
                "satisfied": list(self.satisfied),
                "overall_rule": self.overall_rule,
                "elements": [e.to_dict() for e in self.elements],
            },
            "questions": [q.to_dict() for q in self.questions],
        }
        if self.overall_question:
            out["scoring"]["overall_question"] = self.overall_question
        if self.subdimensions:
            out["scoring"]["subdimensions"] = [s.to_dict() for s in self.subdimensions]
        if self.sections:
            out["sections"] = [s.to_dict() for s in self.sections]
        if self.notes:
            out["notes"] = self.notes.to_dict()
        if self.based_on:
            out["based_on"] = self.based_on
        return out

    def canonical_json(self) -> str:
        """The definition as canonical JSON (sorted keys, no whitespace, NFC text)."""
        return nfc(json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":")))

    @property
    def content_hash(self) -> str:
        """SHA-256 of :meth:`canonical_json`; a published version never changes it.

        Computed once per object (the object is immutable), so callers need no cache of their own.
        The digest is kept beside the object, not in it, so ``dataclasses.replace`` and
        ``type(q)(**vars(q))`` still build a new questionnaire with its own hash.
        """
        key = id(self)
        digest = _HASHES.get(key)
        if digest is None:
            digest = hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()
            _HASHES[key] = digest
            weakref.finalize(self, _HASHES.pop, key, None)  # forgotten with the object
        return digest


_HASHES: dict[int, str] = {}
"""``id(questionnaire)`` → its content hash, for as long as the questionnaire lives."""
