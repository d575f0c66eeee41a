"""Issue 12 point 22: the device lifecycle (register on the desk page → bind one tablet once →
revoke → refused, in the browser and through the API), the API rate limit (429 with
Retry-After) and the batch limit — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from survey.store.models import Credential, Response
from tests.channels.conftest import FIVE, Api, submission

FORM = {k: str(v) for k, v in FIVE.items()}


def test_register_bind_once_revoke_refused(app, client, db, demo, staff) -> None:  # type: ignore[no-untyped-def]
    desk = db.scalars(select(Credential.desk_id)).first()  # no device yet
    assert desk is None
    staff.login()
    from survey.collect.submissions import desk_services
    from survey.store.models import Desk

    place = next(d for d in db.scalars(select(Desk).where(Desk.active.is_(True)).order_by(Desk.code))
                 if "CHUNG-THUC" in {s.code for s in desk_services(db, d)})
    page = client.post(f"/staff/desks/{place.code}", data={"label": "Máy tính bảng 1"}).get_data(as_text=True)
    found = re.search(r"/kiosk/" + re.escape(place.code) + r"#device=([A-Za-z0-9_\-]+)", page)
    assert found is not None
    token = found.group(1)

    tablet = app.test_client()
    assert tablet.post(f"/kiosk/{place.code}/bind", headers={"X-Device-Token": token}).status_code == 200
    copy = app.test_client()  # someone who saw the address binds a second browser: refused
    assert copy.post(f"/kiosk/{place.code}/bind", headers={"X-Device-Token": token}).status_code == 403
    rid = str(uuid.uuid4())
    assert tablet.post(f"/kiosk/{place.code}/CHUNG-THUC", data={**FORM, "submission_id": rid}).status_code == 303
    assert db.get(Response, uuid.UUID(rid)).flag is None  # a registered tablet's rating counts at once
    api = Api(app.test_client(), token)
    assert api.submit(submission()).status_code == 201  # the same token is the device's API credential

    cred = db.scalar(select(Credential).where(Credential.desk_id == place.id))
    assert client.post(f"/staff/desks/{place.code}", data={"revoke": str(cred.id)}).status_code == 303
    rid = str(uuid.uuid4())
    assert tablet.post(f"/kiosk/{place.code}/CHUNG-THUC", data={**FORM, "submission_id": rid}).status_code == 303
    db.expire_all()
    assert db.get(Response, uuid.UUID(rid)).flag == "unregistered"  # revoked: held for review
    app.config["KIOSK_REQUIRE_DEVICE"] = True
    assert tablet.post(f"/kiosk/{place.code}/CHUNG-THUC", data={**FORM, "submission_id": str(uuid.uuid4())}
                       ).status_code == 403
    assert api.submit(submission()).status_code == 401


def test_the_api_rate_limit_answers_429_with_retry_after(app, device_api) -> None:  # type: ignore[no-untyped-def]
    app.config["API_RATE_LIMIT_PER_MINUTE"] = 3
    statuses = [device_api.submit(submission()).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    limited = device_api.submit(submission())
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.get_json()["error"]["code"] == "rate_limited"


def test_the_batch_limit(app, device_api) -> None:  # type: ignore[no-untyped-def]
    app.config["API_BATCH_MAX"] = 3
    assert device_api.batch([submission() for _ in range(3)]).get_json()["counts"] == {"created": 3}
    refused = device_api.batch([submission() for _ in range(4)])
    assert refused.status_code in (400, 413) and "3" in refused.get_json()["error"]["message"]
