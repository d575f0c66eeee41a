"""Operations: Prometheus metrics, a request id on every request, structured JSON logs (issue 15).

* ``GET /metrics`` — the Prometheus text format (``prometheus_client``): request latency by route
  and status (the URL rule, ``/portal/<code>``, never the path a client typed, so no dossier code
  or token becomes a label), submissions by channel and fate (``created``, ``duplicate``,
  ``conflict``, ``dossier_used``, ``rejected``), the background jobs by task and outcome with their
  durations, and the gauges that the app registers (:func:`gauge`; the task queue's pending jobs).
  Under ``hailong serve`` every gunicorn worker and the job worker write to one multiprocess folder
  (``PROMETHEUS_MULTIPROC_DIR``, made by :func:`multiprocess_folder`), so one scrape sees them all.
  Open to loopback clients, or to anyone sending ``Authorization: Bearer <METRICS_TOKEN>`` when
  that setting is given; otherwise 404 (the endpoint's existence is no one else's business).
* **Request id** — a client's ``X-Request-ID`` when it is a plain token of 8–64 characters, else a
  new one; sent back in the response header, on ``flask.g.request_id``, and in every log record.
* **JSON logs** (``LOG_FORMAT=json``) — one JSON object a line (``python-json-logger``) for the app's
  records and gunicorn's access log: time with its zone, level, logger, message, request id. The
  access log keeps its redaction (:mod:`survey.security`): no credential or dossier code.

This module imports nothing of the app but its settings, so every room can count through it.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
_LOOPBACK = ("127.", "::1", "localhost")
FATES = ("created", "duplicate", "conflict", "dossier_used", "rejected")
_gauges: dict[str, tuple[str, Callable[[], float]]] = {}


_made: dict[str, Any] = {}
_making = threading.Lock()


def _metrics() -> dict[str, Any]:
    """The metric objects, made on first use (once, under a lock: a worker's threads may ask at the
    same moment): ``prometheus_client`` picks its multiprocess mode from the environment when a
    metric is created, after ``hailong serve`` has set the folder."""
    if _made:
        return _made
    with _making:
        if not _made:
            _made.update(_make_metrics())
    return _made


def _make_metrics() -> dict[str, Any]:
    from prometheus_client import Counter, Histogram

    return {
        "requests": Histogram("hailong_http_request_duration_seconds", "Time to answer a request, by route and status.",
                              ["method", "route", "status"],
                              buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)),
        "submissions": Counter("hailong_submissions", "Submissions by channel and fate.", ["channel", "fate"]),
        "jobs": Counter("hailong_jobs", "Background jobs finished, by task and outcome.", ["task", "outcome"]),
        "job_seconds": Histogram("hailong_job_duration_seconds", "Time a background job ran, by task.", ["task"],
                                 buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600)),
    }


def count_submission(channel: str, fate: str, n: int = 1) -> None:
    """Count ``n`` submissions of ``channel`` (``kiosk``, ``api``, ``link``, ``enumerator``, ``odk``…)."""
    if n:
        _metrics()["submissions"].labels(channel=channel, fate=fate).inc(n)


def observe_job(task: str, outcome: str, seconds: float | None) -> None:
    """Count one finished background job (``complete`` / ``error``) and how long it ran."""
    _metrics()["jobs"].labels(task=task, outcome=outcome).inc()
    if seconds is not None:
        _metrics()["job_seconds"].labels(task=task).observe(seconds)


def gauge(name: str, documentation: str, read: Callable[[], float]) -> None:
    """A gauge read at scrape time (e.g. the queue's pending jobs); ``read`` failing leaves it out."""
    _gauges[name] = (documentation, read)


def multiprocess_folder(instance_path: Path) -> Path:
    """A fresh folder for the metrics of all of ``hailong serve``'s processes, named in the
    environment before any metric exists (call before forking)."""
    folder = instance_path / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def worker_exit(pid: int) -> None:
    """gunicorn's ``child_exit``: a dead worker's live gauges leave the multiprocess folder."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format (all processes' under ``hailong serve``)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily

    _metrics()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry: Any = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    extra = CollectorRegistry()

    class _Gauges:
        def collect(self) -> Any:
            for name, (documentation, read) in sorted(_gauges.items()):
                try:
                    value = float(read())
                except Exception:  # noqa: BLE001, S112 - a gauge that cannot be read is left out of this scrape
                    continue
                family = GaugeMetricFamily(name, documentation)
                family.add_metric([], value)
                yield family

    extra.register(_Gauges())  # type: ignore[arg-type]
    return body + generate_latest(extra), CONTENT_TYPE_LATEST


def _start() -> None:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = offered if _CLIENT_ID.fullmatch(offered) else secrets.token_hex(8)
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    started = g.get("request_started")
    if started is not None:
        route = request.url_rule.rule if request.url_rule is not None else "(no route)"
        _metrics()["requests"].labels(method=request.method, route=route,
                                      status=str(response.status_code)).observe(time.perf_counter() - started)
    return response


def _allowed(token: str) -> bool:
    if token:
        sent = request.headers.get("Authorization", "")
        return secrets.compare_digest(sent.encode(), f"Bearer {token}".encode())
    return (request.remote_addr or "").startswith(_LOOPBACK)


class RequestIdFilter(logging.Filter):
    """Put the current request's id (or ``-``) on every log record as ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object a line: time (ISO 8601 with its zone), level, logger, message, request id."""
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                         datefmt="%Y-%m-%dT%H:%M:%S%z")


def configure_logging(app: Flask) -> None:
    """The app's log records carry the request id; ``LOG_FORMAT=json`` writes them as JSON lines."""
    request_filter = RequestIdFilter()
    app.logger.addFilter(request_filter)
    if app.config.get("LOG_FORMAT") != "json":
        return
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter())
    handler.addFilter(request_filter)
    app.logger.handlers[:] = [handler]
    app.logger.propagate = False


def json_access_logger(base: type) -> type:
    """gunicorn's access log as JSON lines, from ``base``'s (redacted) atoms, with the request id."""
    import json
    from datetime import datetime

    class JsonAccessLogger(base):  # type: ignore[valid-type, misc]
        def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
            if not self.access_log_enabled:
                return
            atoms = self.atoms(resp, req, environ, request_time)
            headers = {k.lower(): v for k, v in (getattr(resp, "headers", None) or [])}
            line = {
                "time": datetime.now().astimezone().isoformat(timespec="milliseconds"),
                "level": "INFO", "logger": "gunicorn.access",
                "method": atoms.get("m"), "path": atoms.get("U"), "query": atoms.get("q") or None,
                "status": atoms.get("s"), "bytes": atoms.get("B"),
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "remote": atoms.get("h"), "request_id": headers.get(REQUEST_ID_HEADER.lower(), "-"),
            }
            self.access_log.info(json.dumps(line, ensure_ascii=False, default=str))

    return JsonAccessLogger


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    configure_logging(app)
    token = str(app.config.get("METRICS_TOKEN") or "")

    @app.get("/metrics")
    def metrics() -> Response:
        if not _allowed(token):
            abort(404)
        body, content_type = exposition()
        return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
