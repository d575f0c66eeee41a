"""The enumerator app: an offline-first progressive web app for household interviews.

The page is an app shell (served network-first by its service worker, so it opens with no
network); everything else — sign-in, assignments, questionnaires, submissions — goes through
the JSON API (:mod:`survey.collect.api`). Drafts and the outbox live in IndexedDB on the device and are
deleted only after the server confirms. User-facing strings are rendered into the page from
the gettext catalogue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template, send_file, url_for
from flask_babel import gettext as _

from survey.config import VERSION as __version__

bp = Blueprint("enumerator", __name__, url_prefix="/enumerator")
STATIC_JS = Path(__file__).parent.parent / "static" / "js" / "enumerator"


def _messages() -> dict[str, str]:
    return {
        "signIn": _("Sign in"), "username": _("Username"), "password": _("Password"),
        "signInFailed": _("Wrong username or password."), "signInOffline": _("Signing in needs a network connection."),
        "assignments": _("My assignments"), "noAssignments": _("No assignments yet. Sync when you have a network."),
        "newInterview": _("New interview"), "resume": _("Continue interview"), "quota": _("interviews"),
        "consentTitle": _("Consent"),
        "consentText": _("Introduce yourself and the survey. Answers are anonymous and used only for statistics. "
                         "Does the respondent agree to take part?"),
        "consentYes": _("Yes, the respondent agrees"), "consentNo": _("No, the respondent declines"),
        "declined": _("The respondent declined. Nothing was recorded."),
        "finish": _("Finish interview"), "cancel": _("Back to assignments"),
        "required": _("Please answer this question."), "number": _("Enter a number."),
        "range": _("Enter a number between %(low)s and %(high)s."),
        "tooLong": _("Please keep this under %(n)s characters."),
        "pattern": _("This dossier code does not look right. Please check it on your receipt."),
        "fixErrors": _("Please check the answers marked below."),
        "saved": _("Interview saved on this device. It will be sent when there is a network."),
        "status": _("Sync status"), "queued": _("Waiting to send"), "sent": _("Sent"), "failed": _("Failed"),
        "drafts": _("Drafts"), "syncNow": _("Sync now"), "online": _("Online"), "offline": _("Offline — working on this device"),
        "lastSync": _("Last sync"), "nextTry": _("Next try in %(s)s s"), "never": _("never"),
        "signOut": _("Sign out"), "yes": _("Yes"), "no": _("No"), "household": _("Household"),
        "chooseHousehold": _("Choose a household (optional)"),
        "signOutBlocked": _("Some interviews have not been sent yet. Sync before signing out."),
    }


@bp.route("/")
def app_shell() -> Any:
    response = current_app.make_response(render_template(
        "enumerator/app.html", messages=_messages(), app_version=__version__,
        api_base=url_for("api.openapi").rsplit("/", 1)[0],
        skiplogic=(Path(current_app.static_folder or "") / "js" / "skiplogic.js").exists(),
    ))
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/sw.js")
def service_worker() -> Any:
    response = send_file(STATIC_JS / "sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = url_for("enumerator.app_shell")
    return response


@bp.route("/manifest.webmanifest")
def manifest() -> Any:
    body = {
        "name": _("Hài Lòng — enumerator"), "short_name": "Hài Lòng", "lang": "vi",
        "start_url": url_for("enumerator.app_shell"), "scope": url_for("enumerator.app_shell"),
        "display": "standalone", "background_color": "#ffffff", "theme_color": "#0b5394",
        "icons": [{"src": url_for("static", filename="img/face-5.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    response = current_app.response_class(
        current_app.json.dumps(body), mimetype="application/manifest+json")
    return response
