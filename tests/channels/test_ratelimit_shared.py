"""Rate limits shared across processes through Flask-Limiter's Redis storage (issue 14 point 7):
two app instances in two separate processes — as two gunicorn workers or two servers are — count
one credential's requests together with ``RATE_LIMIT_STORAGE=redis://…``, and each on its own with
the embedded ``memory://`` default (the control that shows the test can fail)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from flask import Flask

from tests.channels.conftest import device_token

ROOT = Path(__file__).resolve().parents[2]

# One app instance in its own process: n requests of one device token, their statuses on stdout.
INSTANCE = """
import json, sys
from survey import create_app
url, storage, prefix, token, n, keys = sys.argv[1:7]
app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret", "RATE_LIMIT_STORAGE": storage,
                  "RATE_LIMIT_PREFIX": prefix, "API_RATE_LIMIT_PER_MINUTE": 3, "DOSSIER_KEY_FILE": keys})
client = app.test_client()
print(json.dumps([client.get("/api/v1/me", headers={"Authorization": "Bearer " + token}).status_code
                  for _ in range(int(n))]))
app.extensions["hailong.engine"].dispose()
"""


def _instance(app: Flask, storage: str, prefix: str, tmp_path: Path) -> Flask:
    from survey import create_app

    return create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "test-secret",
                       "RATE_LIMIT_STORAGE": storage, "RATE_LIMIT_PREFIX": prefix, "API_RATE_LIMIT_PER_MINUTE": 3,
                       "DOSSIER_KEY_FILE": str(tmp_path / "keys.json")})


def _me(instance: Flask, token: str, n: int) -> list[int]:
    client = instance.test_client()
    return [client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code for _ in range(n)]


def test_app_instances_share_one_credential_limit_through_redis_across_processes(
        app: Flask, demo: str, redis_url: str, database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the counters live in Redis whatever the database: checked once, on SQLite")
    import redis

    token = device_token(app, "32002-MC")
    prefix = f"hailong-test-{uuid.uuid4().hex}"  # this test's keys only, in a Redis others may share
    instances = [_instance(app, storage, prefix, tmp_path) for storage in (redis_url, redis_url,
                                                                            "memory://", "memory://")]
    try:
        one, two, alone, other = instances
        assert _me(one, token, 2) == [200, 200] and _me(two, token, 2) == [200, 429]  # 3 a minute, together
        assert _me(alone, token, 3) == [200, 200, 200] and _me(other, token, 1) == [200]  # memory: each its own
        # Another process (another gunicorn worker or server) sees the same count.
        env = {**os.environ, "HAILONG_INSTANCE_PATH": str(tmp_path / "instance-2"), "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", INSTANCE, database_url, redis_url, prefix, token, "1",
                              str(tmp_path / "keys.json")], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120, check=True).stdout
        assert json.loads(out.strip().splitlines()[-1]) == [429]
    finally:
        for instance in instances:
            instance.extensions["hailong.engine"].dispose()
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"*{prefix}*"))
    assert keys and all(prefix.encode() in key for key in keys)
    client.delete(*keys)
    client.close()
