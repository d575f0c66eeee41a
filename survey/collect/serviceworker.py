"""The offline service worker of the kiosk, also served by the portal's desk display
(``static/js/offline-sw.js``).

Each gets the same script with its own settings written in front of it, served from an address
inside the scope it controls (``Service-Worker-Allowed``), never cached by the browser's HTTP cache
(a service worker is checked for updates on every navigation anyway).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from flask import Response, current_app


def service_worker(*, cache: str, pages: str, scope: str, skip_params: Sequence[str] = (),
                   skip_suffixes: Sequence[str] = ()) -> Response:
    """The shared service worker keeping ``pages`` (a path prefix) and ``/static/`` in ``cache``."""
    script = (Path(current_app.static_folder or "") / "js" / "offline-sw.js").read_text(encoding="utf-8")
    settings = {"cache": cache, "pages": pages, "skipParams": list(skip_params), "skipSuffixes": list(skip_suffixes)}
    body = f"self.HAILONG_SW = {json.dumps(settings)};\n{script}"
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = scope
    return response
