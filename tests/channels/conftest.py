"""Helpers for the collection-channel tests: device tokens, enumerator tokens, submissions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.collect import credentials
from survey.store.models import Desk

FIVE = {"access_facilities": 5, "procedure_as_regulated": 4, "servant_conduct": 5, "result_on_time": 3,
        "feedback_channel": 4}


def device_token(app: Flask, desk_code: str) -> str:
    with Session(app.extensions["hailong.engine"]) as session:
        desk = session.scalar(select(Desk).where(Desk.code == desk_code))
        token = credentials.issue(session, desk=desk, label="test tablet")
        session.commit()
    return token


def submission(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": str(uuid.uuid4()), "questionnaire": "sipas-kiosk", "service": "CHUNG-THUC",
                            "answers": dict(FIVE)}
    body.update(overrides)
    return body


class Api:
    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client, self.token = client, token

    def headers(self, lang: str = "vi") -> dict[str, str]:
        h = {"Accept-Language": lang}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        return h

    def submit(self, body: Any, lang: str = "vi") -> Any:
        return self.client.post("/api/v1/submissions", json=body, headers=self.headers(lang))

    def batch(self, items: list[Any], lang: str = "vi") -> Any:
        return self.client.post("/api/v1/submissions/batch", json={"submissions": items}, headers=self.headers(lang))


@pytest.fixture
def device_api(app: Flask, client: FlaskClient, demo: str) -> Api:
    """The kiosk device of the Phường An Xuyên desk (unit 32002)."""
    return Api(client, device_token(app, "32002-MC"))


@pytest.fixture
def enumerator_api(client: FlaskClient, demo: str) -> Api:
    resp = client.post("/api/v1/auth/token", json={"username": "dieutravien", "password": "hailong-demo"})
    assert resp.status_code == 201, resp.get_json()
    return Api(client, resp.get_json()["token"])
