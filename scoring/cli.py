"""Former home of ``hailong score`` — now :mod:`scoring.command` (no second ``cli`` module beside
the app's). Kept only so ``survey/commands.py`` keeps importing ``scoring.cli`` until its import
line moves to ``scoring.command``; delete this file then."""

from scoring.command import score_command, score_file

__all__ = ["score_command", "score_file"]
