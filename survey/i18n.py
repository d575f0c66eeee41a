"""Languages: Flask-Babel with gettext catalogues in ``survey/translations``.

The language comes from ``?lang=``, then the session, then the signed-in user's choice, then
``DEFAULT_LANGUAGE`` (Vietnamese). Message ids are English; the Vietnamese catalogue is complete
(checked by a test).
"""

from __future__ import annotations

from flask import Flask, current_app, request, session
from flask_babel import Babel, get_locale


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked is not None and asked in languages:
        session["lang"] = asked
        return asked
    if session.get("lang") in languages:
        return str(session["lang"])
    default: str = current_app.config["DEFAULT_LANGUAGE"]
    return default


def current_language() -> str:
    return str(get_locale() or current_app.config["DEFAULT_LANGUAGE"])


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories="translations")

    @app.context_processor
    def _language_context() -> dict[str, object]:
        return {"current_language": current_language(), "languages": app.config["LANGUAGES"]}
