"""The public side, for citizens and the press: today the home page (:mod:`.home`).

A view layer: may import ``survey.reports``, ``survey.store`` and the app core; never
``survey.staff`` (nothing staff-only may leak onto a public page).
"""
