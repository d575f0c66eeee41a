"""Fixtures: ``app``, ``client``, ``db`` and small actions that read like the domain.

Database tests run on both SQLite and PostgreSQL through the parametrised ``database_url``
fixture: one migrated database per backend per test session, emptied before each test.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from survey import create_app
from survey.store.models import Base
from tests.databases import BACKENDS, fresh_database


class BrowserClient(FlaskClient):
    """The test client, sending the CSRF token with every form post as a browser does.

    A browser posts a form with the ``csrf_token`` the page rendered for its session; this client
    adds that same token (see :meth:`csrf_token`) to every POST/PUT/PATCH/DELETE whose body is a
    form (``data=`` a dict or MultiDict, or no body) and has no ``csrf_token`` yet, except to the
    credential-based endpoints (``/api/``, ``/odk/``). ``csrf=False`` posts without it (to test the
    refusal); an explicit ``csrf_token`` in ``data`` is sent as given. :meth:`form` reads a page's
    form as a browser would (its fields with their values, the token included).
    """

    UNSAFE = ("POST", "PUT", "PATCH", "DELETE")

    def csrf_token(self) -> str:
        """A valid token for this client's session: what ``{{ csrf_token() }}`` renders on any of its pages."""
        app = self.application
        field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        with self.session_transaction() as session:
            if not session.get(field):
                session[field] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - as flask_wtf.csrf does
            raw = session[field]
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        return str(URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw))

    def form(self, url: str, index: int = 0, **kwargs: Any) -> dict[str, str]:
        """GET ``url`` and return the named fields of its ``index``-th ``<form>`` with their values
        (hidden ones and the csrf_token included; checked boxes and selected options only)."""
        html = self.get(url, **kwargs).get_data(as_text=True)
        forms = re.findall(r"<form\b.*?</form>", html, flags=re.S | re.I)
        assert len(forms) > index, f"{url} has {len(forms)} form(s)"
        fields: dict[str, str] = {}
        for tag in re.findall(r"<input\b[^>]*>", forms[index], flags=re.I):
            name = re.search(r'\bname="([^"]*)"', tag)
            value = re.search(r'\bvalue="([^"]*)"', tag)
            kind = re.search(r'\btype="([^"]*)"', tag)
            if name is None or (kind and kind.group(1) in ("checkbox", "radio") and "checked" not in tag):
                continue
            fields[name.group(1)] = value.group(1) if value else ""
        return fields

    def open(self, *args: Any, **kwargs: Any) -> Any:
        send_token = kwargs.pop("csrf", True)
        method = str(kwargs.get("method", "GET")).upper()
        path = args[0] if args and isinstance(args[0], str) else str(kwargs.get("path", ""))
        data = kwargs.get("data")
        if send_token and method in self.UNSAFE and "json" not in kwargs \
                and not path.startswith(("/api/", "/odk/")) and (data is None or isinstance(data, dict | MultiDict)):
            field = self.application.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
            if data is None:
                kwargs["data"] = {field: self.csrf_token()}
            elif field not in data:
                data = data.copy()
                if isinstance(data, MultiDict):
                    data.add(field, self.csrf_token())
                else:
                    data[field] = self.csrf_token()
                kwargs["data"] = data
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session", autouse=True)
def _browser_like_test_clients() -> Iterator[None]:
    """Every app's ``test_client()`` in the tests is a :class:`BrowserClient` (CSRF stays on)."""
    before = Flask.test_client_class
    Flask.test_client_class = BrowserClient
    yield
    Flask.test_client_class = before


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from survey.store.migrate import upgrade

    with fresh_database(request.param, tmp_path_factory.mktemp(request.param)) as url:
        upgrade(url)
        yield url


def _empty(engine: Engine) -> None:
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
            return
        conn.execute(text("PRAGMA defer_foreign_keys=ON"))  # the unit tree references itself
        for name in names:
            conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - table names from our metadata


@pytest.fixture
def app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    # A temporary instance folder: the page cache, the queue's SQLite file and any key file of one test
    # never reach another test, another xdist worker or a later run (a stale page cache hid a bug once).
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",  # CSRF as in production: the test client sends tokens (BrowserClient)
        "KIOSK_RETURN_SECONDS": 1,
        "DOSSIER_KEY_FILE": str(tmp_path / "dossier_keys.json"),  # never the instance folder's
        # Quality flags that depend on the clock or on typing speed are off: a test runs at any hour
        # and a browser fills a form in seconds (tests/test_quality_flags.py turns each one on).
        "QUALITY_OFFICE_HOURS": "", "QUALITY_FIELD_HOURS": "", "QUALITY_SECONDS_PER_ANSWER": 0,
    })
    engine: Engine = app.extensions["hailong.engine"]
    _empty(engine)
    yield app
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    with Session(app.extensions["hailong.engine"], expire_on_commit=False) as session:
        yield session


@pytest.fixture
def demo(app: Flask) -> str:
    """The demo data with a few hundred ratings (no household interviews: see ``papi_demo``)."""
    from tests.demo_cache import cached_demo

    return cached_demo(app, n_responses=400, seed=7,
                     papi_per_village=0)


@pytest.fixture
def papi_demo(app: Flask) -> str:
    """The demo data with few ratings and 6 PAPI household interviews per sampled village and year."""
    from tests.demo_cache import cached_demo

    return cached_demo(app, n_responses=50, seed=7,
                     papi_per_village=6)


class StaffActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str = "canbo", password: str = "hailong-demo") -> Any:
        return self.client.post("/auth/login", data={"username": username, "password": password})


class KioskActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def submit(self, desk: str, service: str, answers: dict[str, Any], lang: str = "vi") -> Any:
        return self.client.post(f"/kiosk/{desk}/{service}?lang={lang}", data=answers)


@pytest.fixture
def staff(client: FlaskClient) -> StaffActions:
    return StaffActions(client)


@pytest.fixture
def kiosk(client: FlaskClient) -> KioskActions:
    return KioskActions(client)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of the tests' own (never the system one) on a free port, no persistence —
    the production-only service's real component, started here where tests need it."""
    import shutil
    import subprocess
    import time

    import redis

    from tests.browser import free_port

    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed (`python3 manage.py test` installs it)")
    port = free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                "no", "--dir", str(tmp_path_factory.mktemp("redis"))], stdout=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    try:
        for _attempt in range(100):  # ready once it answers PING (bounded: 100 tries, 0.1 s apart)
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None:
                    pytest.fail("the test redis-server exited at start")
                time.sleep(0.1)
        else:
            pytest.fail("the test redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(10)
