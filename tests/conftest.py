"""Fixtures: ``app``, ``client``, ``db`` and small actions that read like the domain.

Database tests run on both SQLite and PostgreSQL through the parametrised ``database_url``
fixture: one migrated database per backend per test session, emptied before each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from survey import create_app
from survey.store.models import Base
from tests.databases import BACKENDS, fresh_database


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
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
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
    from survey.demo import load_demo

    return load_demo(app.extensions["hailong.engine"], secret=app.config["SECRET_KEY"], n_responses=400, seed=7,
                     papi_per_village=0)


@pytest.fixture
def papi_demo(app: Flask) -> str:
    """The demo data with few ratings and 6 PAPI household interviews per sampled village and year."""
    from survey.demo import load_demo

    return load_demo(app.extensions["hailong.engine"], secret=app.config["SECRET_KEY"], n_responses=50, seed=7,
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
