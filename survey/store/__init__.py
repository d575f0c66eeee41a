"""Persistence: the typed models (:mod:`.models`), engine and session (:mod:`.db`), the Alembic
migrations (``migrations/``, driven by :mod:`.migrate`) and the questionnaire catalogue
(:mod:`.catalogue`).

May import only the app core's pure helpers and ``questionnaires``; everything else in
``survey`` sits above it.
"""
