"""Hài Lòng web application (Flask).

``create_app`` only reads configuration and wires extensions, blueprints and error handlers:
no migrations, no prompts and no network here (``hailong init-db`` migrates).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from survey.config import VERSION as __version__  # noqa: F401 - ``hailong --version``


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: defaults, instance config, ``HAILONG_*`` environment, extensions."""
    from survey import auth, errors, i18n, security
    from survey.collect import api, enumerator, kiosk, links, openrosa
    from survey.config import DEFAULTS, finalize, from_environment
    from survey.portal import embed as portal_embed  # noqa: F401 - registers the widget and desk routes on portal.bp
    from survey.portal import home as public
    from survey.portal import jobs, opendata
    from survey.portal import pages as portal
    from survey.reports import rollups  # noqa: F401 - keeps the rollups current before every commit
    from survey.staff import (
        admin_index_upload,
        boundaries_upload,
        covariates_upload,
        desks,
        oversight,
        preview,
        release_views,
        review,
        targets,
    )
    from survey.staff import workspace as staff
    from survey.store import db

    app = Flask(__name__, instance_relative_config=True, instance_path=os.environ.get("HAILONG_INSTANCE_PATH") or None)
    app.config.from_mapping(DEFAULTS)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    if test_config is None:
        app.config.from_pyfile("hailong.cfg", silent=True)
        app.config.update(from_environment(os.environ))  # as text: finalize parses each once
    else:
        app.config.update(test_config)
    finalize(app.config, Path(app.instance_path))

    db.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    jobs.init_app(app)
    from survey import observability

    observability.init_app(app)
    observability.gauge("hailong_queue_pending", "Background jobs waiting in the task queue.",
                        app.extensions["hailong.queue"].pending_count)
    _count_jobs(app.extensions["hailong.queue"])

    app.register_blueprint(public.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(kiosk.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(openrosa.bp)
    app.register_blueprint(enumerator.bp)
    app.register_blueprint(links.bp)
    app.register_blueprint(desks.bp)
    app.register_blueprint(preview.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(review.field_bp)
    app.register_blueprint(oversight.bp)
    app.register_blueprint(targets.bp)
    app.register_blueprint(release_views.bp)
    app.register_blueprint(admin_index_upload.bp)
    app.register_blueprint(boundaries_upload.bp)
    app.register_blueprint(covariates_upload.bp)
    app.register_blueprint(opendata.bp)
    from survey.portal import cases_public
    from survey.staff import cases as staff_cases
    from survey.staff import export_jobs as staff_export_jobs
    from survey.staff import monitoring, quality_views

    app.register_blueprint(cases_public.bp)
    app.register_blueprint(staff_cases.bp)
    app.register_blueprint(staff_export_jobs.bp)
    app.register_blueprint(monitoring.bp)
    app.register_blueprint(quality_views.bp)
    from survey.admin import views as admin_views

    app.register_blueprint(admin_views.bp)
    from survey.staff import papi_provinces_view  # the PAPI sheet on today's 34 provinces (issue 9)

    app.register_blueprint(papi_provinces_view.bp)
    from survey.staff import unit_search  # the searchable unit picker's server side (issue 9)

    app.register_blueprint(unit_search.bp)
    return app


def _count_jobs(huey: object) -> None:
    """Every finished background job counted in the metrics, with how long it ran (Huey's signals)."""
    from huey import signals

    from survey import observability

    started: dict[str, float] = {}

    @huey.signal(signals.SIGNAL_EXECUTING)  # type: ignore[attr-defined, untyped-decorator]
    def _executing(signal: str, task: object) -> None:
        import time

        started[str(getattr(task, "id", ""))] = time.perf_counter()

    @huey.signal(signals.SIGNAL_COMPLETE, signals.SIGNAL_ERROR)  # type: ignore[attr-defined, untyped-decorator]
    def _finished(signal: str, task: object, exc: object = None) -> None:
        import time

        began = started.pop(str(getattr(task, "id", "")), None)
        outcome = "complete" if signal == signals.SIGNAL_COMPLETE else "error"
        observability.observe_job(str(getattr(task, "name", "?")), outcome,
                                  None if began is None else time.perf_counter() - began)
