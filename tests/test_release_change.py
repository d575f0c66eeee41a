"""The change since the previous period is measured against what the previous period's release
*published* (its stored snapshot, with its SE), not against the previous period recomputed on
today's data: a later correction of the old period's responses does not move a new release's
change. Without an earlier published release there is no change, and the page says so. Both
databases, through the staff workflow (jobs run at once)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from scipy.stats import norm

from survey.portal.snapshot import find_index
from tests.release_actions import Workflow, add_rating, newest_release, release_app, small_province


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from release_app(database_url, tmp_path)


@pytest.fixture
def workflow(app: Flask, client: FlaskClient) -> Workflow:
    small_province(app.extensions["hailong.engine"])
    return Workflow(client)


def release(app: Flask, workflow: Workflow, period: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    """Prepare ``period`` as the analyst, publish it as the publisher; (id, snapshot)."""
    workflow.login("phantich")
    assert workflow.prepare(period).status_code == 302
    built = newest_release(app.extensions["hailong.engine"])
    workflow.login("congbo")
    assert workflow.publish(built.id).status_code == 302
    published = newest_release(app.extensions["hailong.engine"])
    assert published.snapshot is not None
    return published.id, published.snapshot


def page_text(client: FlaskClient, url: str) -> str:
    response = client.get(url, follow_redirects=True)
    assert response.status_code == 200, url
    return " ".join(response.get_data(as_text=True).split())


def test_a_correction_of_the_old_period_does_not_change_the_new_release_change(
        app: Flask, workflow: Workflow, client: FlaskClient) -> None:
    engine = app.extensions["hailong.engine"]
    old_id, old = release(app, workflow, "2025")
    then = find_index(old, "96001")
    assert then is not None and not then["suppressed"]
    # after 2025 was published, 60 late paper forms of 2025 (all "very dissatisfied") are approved
    for minute in range(60):
        add_rating(engine, "96001", "CHUNG-THUC", datetime(2025, 6, 2, 2, minute, tzinfo=UTC), 1)
    workflow.login("phantich")
    assert workflow.prepare("2025", changelog="phiên bản 2 (thử): tính lại").status_code == 302
    recomputed = find_index(newest_release(engine).snapshot, "96001")  # type: ignore[arg-type]
    assert recomputed is not None
    assert recomputed["overall"]["estimate"] < then["overall"]["estimate"] - 0.05  # the correction matters

    new_id, new = release(app, workflow, "2026")
    now = find_index(new, "96001")
    assert now is not None and now["change"] is not None
    change = now["change"]
    # the figure the public saw for 2025, exactly, not today's recomputation
    assert change["previous_estimate"] == then["overall"]["estimate"]
    assert change["previous_se"] == then["overall"]["se"]
    assert change["previous_release"] == old_id and change["previous_period"] == "2025"
    assert change["delta"] == pytest.approx(now["overall"]["estimate"] - then["overall"]["estimate"], rel=1e-12)  # type: ignore[operator]
    assert change["delta"] != pytest.approx(now["overall"]["estimate"] - recomputed["overall"]["estimate"], abs=0.01)  # type: ignore[operator]
    # independent periods: SE of the difference from both stored SEs, interval and test at 95%
    se = math.sqrt(now["overall"]["se"] ** 2 + then["overall"]["se"] ** 2)  # type: ignore[operator]
    assert change["se"] == pytest.approx(se, rel=1e-12)
    assert (change["ci_low"], change["ci_high"]) == pytest.approx((change["delta"] - 1.959964 * se,
                                                                   change["delta"] + 1.959964 * se), rel=1e-6)
    assert change["p_value"] == pytest.approx(2 * norm.sf(abs(change["delta"]) / se), rel=1e-9)
    assert change["significant"] == (change["ci_low"] > 0 or change["ci_high"] < 0)  # type: ignore[operator]
    assert new["release"]["previous_releases"] == [{"id": old_id, "version": 1, "scope": "96", "period": "2025"}]
    # the suppressed commune has no change; the page shows the published comparison
    small = find_index(new, "96005")
    assert small is not None and small["suppressed"] and small["change"] is None
    text = page_text(client, f"/portal/r/{new_id}/sipas-kiosk/96001/")
    shown = f"{then['overall']['estimate'] * 100:.1f}".replace(".", ",") + "%"
    assert f"So với {shown}, như đã công bố cho Năm 2025" in text


def test_without_an_earlier_published_release_there_is_no_change_and_the_page_says_so(
        app: Flask, workflow: Workflow, client: FlaskClient) -> None:
    # 2025's responses exist, but no 2025 release was published: nothing to compare with
    new_id, new = release(app, workflow, "2026")
    assert new["release"]["previous_releases"] == []
    assert all(row["change"] is None for row in new["indices"])
    text = page_text(client, f"/portal/r/{new_id}/sipas-kiosk/96/")
    assert "chưa có kết quả nào của kỳ trước được công bố để so sánh" in text
