"""The staff workspace: pages behind a staff sign-in.

Results, ranking, PAPI and data export (:mod:`.workspace`, blueprint ``staff``), goals
(:mod:`.targets`), the review queue (:mod:`.review`), kiosk desks and their QR codes
(:mod:`.desks`) and the questionnaire preview (:mod:`.preview`).

A view layer: may import ``survey.reports``, ``survey.collect``, ``survey.store`` and the app
core. Nothing below imports it, and ``survey.portal`` never does.
"""
