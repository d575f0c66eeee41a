"""Questionnaire definitions as data.

Questionnaires live as YAML files in ``questionnaires/library/``. :func:`load_library` reads
them once into immutable :class:`~questionnaires.model.Questionnaire` objects; nothing about a
questionnaire is hard-coded in Python or templates. This package imports no Flask and no
SQLAlchemy: the web app and the scoring engine both read the same objects.
"""

from questionnaires.loader import QuestionnaireError, load_file, load_library
from questionnaires.model import Choice, Element, Question, Questionnaire, Text

__all__ = [
    "Choice",
    "Element",
    "Question",
    "Questionnaire",
    "QuestionnaireError",
    "Text",
    "load_file",
    "load_library",
]
