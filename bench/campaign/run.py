"""The reliability and security campaign of issue 12, kept in the project and re-runnable.

    .venv/bin/python bench/campaign/run.py [--database sqlite|postgresql] [--submissions 2000]
        [--drop 0.2] [--kills 5] [--pg-restarts 2] [--fuzz 40] [--schemathesis 20] [--seconds 300]

Everything runs on this machine, against 127.0.0.1 only, bounded in count and time, and stops by
itself. With ``--database postgresql`` it starts a PostgreSQL cluster of its own (``initdb`` in a
temporary directory, a free loopback port: :mod:`bench.campaign.cluster`) — never the shared
server on 5432 — and deletes it at the end. It starts ``hailong serve`` (gunicorn, 2 workers) on a
fresh database with the demo data and then runs, in order:

1. **Idempotent replays through a connection-dropping proxy, with worker kills and database
   restarts** — a kiosk device sends ``--submissions`` ratings in batches of 20 through a TCP proxy
   that cuts ``--drop`` of the connections (half before the request reaches the server, half after
   the server answered, so the client cannot know whether it was stored); every batch is re-sent
   with the same ids until the server gives each item a fate; meanwhile ``--kills`` gunicorn
   workers are killed with SIGKILL and (PostgreSQL) the private cluster is restarted
   ``--pg-restarts`` times, alternately a fast shutdown and a crash (``immediate``, WAL recovery).
   Then the database must hold exactly the ratings sent: none lost, none twice.
2. **Authorization sweep** — every route of the URL map × anonymous / kiosk device / enumerator /
   staff / admin over HTTP with real cookies and CSRF tokens, judged by the expected table of
   ``tests/test_hardening_access.py`` (:mod:`bench.campaign.sweep`).
3. **Form fuzzing** — every HTML form (kiosk, public link, receipt, sign-in, desks, goals, review,
   questionnaire preview) gets ``--fuzz`` malformed posts each (NUL bytes, 10,000-character and
   400-digit values, ``sNaN``, ``²``, multipart bodies, invalid UTF-8, missing fields); the API
   gets the same in JSON. Any 5xx is a failure.
4. **Schemathesis** with valid credentials (a device token, an enumerator's API token),
   ``--schemathesis`` examples per operation, check ``not_a_server_error`` — when schemathesis is
   installed apart (``--st``: see :mod:`bench.campaign.sweep`; it is not a
   dependency, since its pytest plugin would load in every test run); else reported as skipped.

It prints its figures (sent, stored, expected, status codes, dropped connections, kills, restarts,
sweep problems, fuzzing and schemathesis results) and exits 1 if anything was lost, duplicated,
answered 5xx or let the wrong audience in. The fast version runs in the test suite
(``tests/test_hardening_campaign.py``); the long one's figures go in the closing note."""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

HAILONG = str(Path(sys.executable).parent / "hailong")
RATING = {"access_facilities": 5, "procedure_as_regulated": 4, "servant_conduct": 5, "result_on_time": 3,
          "feedback_channel": 4}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DroppingProxy(threading.Thread):
    """A TCP proxy on 127.0.0.1 that cuts a share of the connections, before or after the server answers."""

    def __init__(self, upstream: int, drop: float, seed: int = 12) -> None:
        super().__init__(daemon=True)
        self.upstream, self.drop, self.random = upstream, drop, random.Random(seed)
        self.port = free_port()
        self.dropped = collections.Counter()
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.sock.settimeout(0.5)
        self.stopping = False

    def run(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        fate = self.random.random()
        with client:
            try:
                request = _read_http(client)
                if fate < self.drop / 2:
                    self.dropped["before"] += 1
                    return  # the request never reaches the server
                with socket.create_connection(("127.0.0.1", self.upstream), timeout=60) as up:
                    up.sendall(request)
                    answer = _read_http(up)
                if fate < self.drop:
                    self.dropped["after"] += 1
                    return  # the server stored it; the client never hears
                client.sendall(answer)
            except OSError:
                self.dropped["error"] += 1

    def stop(self) -> None:
        self.stopping = True
        self.sock.close()


def _read_http(sock: socket.socket) -> bytes:
    """One HTTP/1.1 message (headers + Content-Length body) from ``sock``."""
    sock.settimeout(60)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    want = int(length.group(1)) if length else 0
    while len(body) < want:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("closed")
        body += chunk
    return head + b"\r\n\r\n" + body


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
            timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Connection": "close", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


class Server:
    def __init__(self, database_url: str, instance: Path) -> None:
        self.env = {**os.environ, "HAILONG_DATABASE_URL": database_url, "HAILONG_INSTANCE_PATH": str(instance),
                    "HAILONG_ENV": "demo", "HAILONG_API_RATE_LIMIT_PER_MINUTE": "100000",
                    "HAILONG_KIOSK_UNREGISTERED_PER_MINUTE": "100000", "HAILONG_LINK_PER_ADDRESS_PER_MINUTE": "100000"}
        self.instance = instance
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def prepare(self, responses: int) -> None:
        for command in ([HAILONG, "init-db"], [HAILONG, "demo", "--responses", str(responses), "--papi-per-village", "0"]):
            done = subprocess.run(command, env=self.env, capture_output=True, text=True, check=False)  # noqa: S603
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(command[1:])} failed: {(done.stdout + done.stderr)[-2000:]}")

    def start(self) -> None:
        log = (self.instance / "server.log").open("a")
        self.proc = subprocess.Popen(  # noqa: S603 - our own command, loopback only
            [HAILONG, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "2", "--no-worker"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start: " + (self.instance / "server.log").read_text()[-2000:])

    def workers(self) -> list[int]:
        assert self.proc is not None
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def device_token(database_url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from survey.collect import credentials
    from survey.collect.submissions import desk_services
    from survey.store.models import Desk

    engine = create_engine(database_url)
    with Session(engine) as session:
        desk = next(d for d in session.scalars(select(Desk).where(Desk.active.is_(True)).order_by(Desk.code))
                    if "CHUNG-THUC" in {s.code for s in desk_services(session, d)})
        token = credentials.issue(session, desk=desk, label="campaign")
        code, unit = desk.code, desk.unit.code
        session.commit()
    engine.dispose()
    return token, f"{code}|{unit}"


def stored(database_url: str, ids: list[str]) -> tuple[int, int]:
    """(rows among ``ids``, rows of the campaign's device in all)."""
    from sqlalchemy import create_engine, func, select

    from survey.store.models import Credential, Response

    engine = create_engine(database_url)
    with engine.connect() as conn:
        found = 0
        for start in range(0, len(ids), 500):
            chunk = [uuid.UUID(i) for i in ids[start:start + 500]]
            found += int(conn.scalar(select(func.count()).select_from(Response).where(Response.id.in_(chunk))) or 0)
        device = conn.scalar(select(Credential.id).where(Credential.label == "campaign"))
        total = int(conn.scalar(select(func.count()).select_from(Response).where(Response.credential_id == device)) or 0)
    engine.dispose()
    return found, total


def replays(server: Server, proxy: DroppingProxy, token: str, n: int, kills: int, deadline: float,
            restart: Callable[[str], float] | None = None, restarts: int = 0) -> dict[str, Any]:
    statuses: collections.Counter[str] = collections.Counter()
    fates: collections.Counter[str] = collections.Counter()
    ids: list[str] = []
    attempts = 0
    killed = 0
    batches = (n + 19) // 20
    kill_every = max(1, batches // max(1, kills)) if kills else 0
    # Database restarts at evenly spaced batches (offset from the kills), each in a thread of its
    # own so that batches keep arriving while the server is down; fast and crash alternately.
    restart_at = {max(1, (batches * (r + 1)) // (restarts + 1)) - 1: ("fast", "immediate")[r % 2]
                  for r in range(restarts)} if restart is not None else {}
    outages: list[tuple[str, float]] = []
    threads: list[threading.Thread] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for batch_no in range(batches):
        if time.monotonic() > deadline:
            break
        items = [{"id": str(uuid.uuid4()), "service": "CHUNG-THUC", "answers": RATING} for _ in range(min(20, n - len(ids)))]
        ids.extend(i["id"] for i in items)
        body = json.dumps({"submissions": items}).encode()
        if batch_no in restart_at and restart is not None:
            mode = restart_at[batch_no]
            thread = threading.Thread(target=lambda m=mode: outages.append((m, restart(m))), daemon=True)
            thread.start()
            threads.append(thread)
        if kill_every and batch_no % kill_every == kill_every - 1 and killed < kills:
            workers = server.workers()
            if workers:
                os.kill(random.choice(workers), signal.SIGKILL)  # noqa: S311 - not cryptography
                killed += 1
        for attempt in range(30):  # bounded: the same batch, the same ids, until every item has a fate
            attempts += 1
            try:
                status, _h, raw = request(proxy.port, "POST", "/api/v1/submissions/batch", body, headers)
            except OSError:
                statuses["connection cut"] += 1
                time.sleep(min(0.05 * 2 ** attempt, 2))
                continue
            statuses[str(status)] += 1
            if status == 200:
                for result in json.loads(raw)["results"]:
                    fates[result["status"]] += 1
                break
            time.sleep(min(0.05 * 2 ** attempt, 2))
    for thread in threads:
        thread.join(timeout=120)
    return {"ids": ids, "statuses": statuses, "fates": fates, "attempts": attempts, "killed": killed,
            "outages": outages}


NASTY = ["\x00", "a\x00b", "x" * 10_000, "9" * 400, "-" + "9" * 400, "sNaN", "NaN", "Infinity", "²", "1e309",
         "0001-01-01T00:00:03", "0999-06-01T00:00:00Z", "<script>alert(1)</script>", "' OR 1=1 --", "", " ",
         "٣", "🙂" * 50, "%00", "../../etc/passwd"]


# A sound value of each form field (the fuzzer spoils one or two of them). The sign-in uses an
# account that does not exist, so the fuzzing never locks a real one out.
SOUND = {"dossier_code": "", "comment": "Nhanh, chu đáo", "submission_id": "new", "submitted_at": "",
         "username": "khong-co-tai-khoan", "password": "sai-mat-khau", "label": "Quầy 1", "revoke": "",
         "unit": "96", "score": "sipas-kiosk:overall", "year": "2027", "kind": "score", "value": "80",
         "base_year": "", "decision": "approve", "response_id": str(uuid.UUID(int=1))}


def fuzz(server: Server, place: str, rounds: int, deadline: float, device: str = "") -> dict[str, Any]:
    desk, unit = place.split("|")
    port = server.port
    rng = random.Random(7)
    statuses: collections.Counter[str] = collections.Counter()
    errors: list[str] = []
    # A signed-in staff browser (CSRF is on: the token of its session, read from its pages after
    # the sign-in, which rotates the session; a token from before would be refused on every post).
    from bench.campaign.sweep import Browser

    browser = Browser(port)
    browser.sign_in("canbo")
    by_form: dict[str, collections.Counter[str]] = {}
    forms = {
        f"/kiosk/{desk}/CHUNG-THUC": [*RATING, "dossier_code", "comment", "submission_id", "submitted_at"],
        f"/s/{unit}/CHUNG-THUC": [*RATING, "dossier_code", "submission_id"],
        "/auth/login": ["username", "password"],
        f"/staff/desks/{desk}": ["label", "revoke"],
        "/staff/targets/": ["unit", "score", "year", "kind", "value", "base_year"],
        "/staff/review/decide": ["decision", "response_id"],
        "/staff/questionnaires/sipas-kiosk/2025.2": [*RATING],
        "/api/v1/submissions": [],
        "/api/v1/submissions/batch": [],
        "/api/v1/auth/token": [],
    }
    for path, fields in forms.items():
        for _ in range(rounds):
            if time.monotonic() > deadline:
                break
            # Half the posts: every field malformed at random; the other half: a sound form with one
            # or two fields malformed, so that each bad value reaches its own field's checks.
            if rng.random() < 0.5:
                values = {f: rng.choice(NASTY) if rng.random() < 0.7 else "5" for f in fields}
            else:
                values = {f: SOUND.get(f, "5") for f in fields}
                values.update({f: rng.choice(NASTY) for f in rng.sample(fields, min(len(fields), rng.randint(1, 2)))})
                if "submission_id" in values and values["submission_id"] == "new":
                    values["submission_id"] = str(uuid.uuid4())
            values["csrf_token"] = browser.csrf if rng.random() < 0.8 else rng.choice(NASTY)
            if path.startswith("/api/"):
                body = json.dumps({"id": rng.choice([str(uuid.uuid4()), *NASTY]), "username": rng.choice(NASTY),
                                   "password": rng.choice(NASTY), "submitted_at": rng.choice(NASTY),
                                   "answers": {k: rng.choice([5, int("9" * 400), "sNaN", None, [1]]) for k in RATING},
                                   "submissions": [{"id": rng.choice(NASTY)}] * rng.randint(0, 3)}).encode()
                kind = "application/json"
            elif rng.random() < 0.3:
                boundary = "campaign" + uuid.uuid4().hex
                body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode(
                    "utf-8", "surrogatepass") for k, v in values.items()) + f"--{boundary}--\r\n".encode()
                kind = f"multipart/form-data; boundary={boundary}"
            else:
                body = urllib.parse.urlencode(values).encode()
                if rng.random() < 0.1:
                    body += b"&comment=%ff%fe%00"  # invalid UTF-8
                kind = "application/x-www-form-urlencoded"
            try:
                extra = {"Authorization": f"Bearer {device}"} if path.startswith("/api/v1/submissions") and device else {}
                status, _h, _b = browser.request("POST", path, body=body, content_type=kind, headers=extra)
            except OSError as exc:
                errors.append(f"{path}: {exc}")
                continue
            statuses[str(status)] += 1
            by_form.setdefault(path, collections.Counter())[str(status)] += 1
            if status >= 500:
                errors.append(f"{path}: {status}")
    return {"statuses": statuses, "errors": errors, "by_form": by_form}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite",
                        help="postgresql: a private cluster the campaign starts, restarts and deletes")
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--drop", type=float, default=0.2)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--pg-restarts", type=int, default=2, help="database restarts during the replays (PostgreSQL)")
    parser.add_argument("--fuzz", type=int, default=40, help="malformed posts per form")
    parser.add_argument("--schemathesis", type=int, default=20, help="examples per API operation (0: no run)")
    parser.add_argument("--st", help="schemathesis's st command (default: st on PATH), installed apart")
    parser.add_argument("--no-sweep", action="store_true", help="skip the authorization sweep")
    parser.add_argument("--seconds", type=float, default=300, help="stop after this long, whatever is left")
    args = parser.parse_args(argv)
    from bench.campaign.cluster import PrivateCluster
    from bench.campaign.sweep import api_token, authorization_sweep, schemathesis_run

    deadline = time.monotonic() + args.seconds
    sweep: dict[str, Any] = {"skipped": "--no-sweep"}
    schema: dict[str, Any] = {"skipped": "--schemathesis 0"}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        cluster: PrivateCluster | None = None
        if args.database == "postgresql":
            cluster = stack.enter_context(PrivateCluster(free_port()))
            url = cluster.database("hailong_campaign")
        else:
            url = f"sqlite:///{Path(tmp) / 'campaign.sqlite'}"
        server = Server(url, Path(tmp))
        server.prepare(responses=50)
        server.start()
        proxy = DroppingProxy(server.port, args.drop)
        proxy.start()
        try:
            token, place = device_token(url)
            run = replays(server, proxy, token, args.submissions, args.kills, deadline,
                          restart=cluster.restart if cluster is not None else None,
                          restarts=args.pg_restarts if cluster is not None else 0)
            found, total = stored(url, run["ids"])
            if not args.no_sweep:
                sweep = authorization_sweep(server.port, url, token, place.split("|")[0], deadline)
            fuzzed = fuzz(server, place, args.fuzz, deadline, token)
            if args.schemathesis > 0:
                schema = schemathesis_run(server.port, {"kiosk device": token, "enumerator": api_token(server.port)},
                                          args.schemathesis, deadline, args.st)
            alive = server.proc is not None and server.proc.poll() is None
        finally:
            proxy.stop()
            server.stop()
    sent = len(run["ids"])
    print(f"database: {args.database}" + (" (private cluster, 127.0.0.1)" if args.database == "postgresql" else ""))
    print(f"replays: sent {sent}, stored {found} (device total {total}), expected {sent}; "
          f"{run['attempts']} batch requests; statuses {dict(run['statuses'])}; item fates {dict(run['fates'])}")
    print(f"proxy: dropped {dict(proxy.dropped)} of the connections; workers killed: {run['killed']}")
    if args.database == "postgresql":
        print("database restarts: " + (", ".join(f"{mode} ({took:.1f} s down)" for mode, took in run["outages"])
                                       or "none"))
    if "skipped" in sweep:
        print(f"authorization sweep: skipped ({sweep['skipped']})")
    else:
        print(f"authorization sweep: {sweep['routes']} routes, {sweep['requests']} requests, statuses "
              f"{dict(sorted(sweep['statuses'].items()))}, problems {len(sweep['problems'])}")
        for line in sweep["problems"][:20]:
            print("  ", line)
    print(f"fuzzing: {sum(fuzzed['statuses'].values())} posts, statuses {dict(sorted(fuzzed['statuses'].items()))}, "
          f"server errors {len(fuzzed['errors'])}")
    for path, counts in fuzzed["by_form"].items():
        print(f"   {path}: {dict(sorted(counts.items()))}")
    for line in fuzzed["errors"][:20]:
        print("  ", line)
    schema_ok = True
    if "skipped" in schema:
        print(f"schemathesis: skipped ({schema['skipped']})")
    else:
        for who, result in schema.items():
            if "skipped" in result:
                print(f"schemathesis ({who}): skipped ({result['skipped']})")
                continue
            schema_ok = schema_ok and result["ok"]
            print(f"schemathesis ({who}): exit {result['exit']}, server errors {result['server_errors']}")
            for line in result["summary"] + result["tail"]:
                print("  ", line)
    print(f"server still running at the end: {'yes' if alive else 'no'}")
    ok = (found == sent and total == sent and not fuzzed["errors"] and schema_ok and alive
          and not sweep.get("problems") and len(run["outages"]) == (args.pg_restarts if args.database == "postgresql"
                                                                    else 0))
    print("result:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
