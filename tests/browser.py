"""Run the real product for browser tests: migrate, load the demo, serve with gunicorn, drive
Debian's Chromium through Playwright (no browser download)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("HAILONG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HAILONG = str(Path(sys.executable).parent / "hailong")



def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Wait until ``base``/healthz answers 200; raise with the server's ``log`` if it died or never did."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:  # noqa: S310 - loopback
                if r.status == 200:
                    return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.2)

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A ``hailong serve`` process on a fixed port that a test can stop and start again, to cut
    the network for real: Chromium's offline emulation does not cover requests that pass
    through a service worker, so a stopped server is the only sure "no network"."""

    def __init__(self, env: dict[str, str], instance: Path) -> None:
        self.env = env
        self.instance = instance
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.instance / "server.log").open("a")
        self.proc = subprocess.Popen(  # noqa: S603
            [HAILONG, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        # the start reads the questionnaire library: slow on a loaded machine
        wait_healthy(self.base, self.proc, self.instance / "server.log", timeout=120)

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful stop, then the job worker's), a minute for it on a loaded
        machine, then SIGKILL for whatever of its process group is left (workers included)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: see start()
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait(timeout=30)
        self.proc = None


@contextmanager
def served(database_url: str, instance: Path, *, responses: int = 300, **settings: str) -> Iterator[Server]:
    """Migrate, load the demo and start ``hailong serve``; yield the :class:`Server`."""
    env = {
        **os.environ,
        "HAILONG_DATABASE_URL": database_url,
        "HAILONG_INSTANCE_PATH": str(instance),
        "HAILONG_ENV": "demo",
        # As in tests/conftest.py: the quality flags that depend on the clock or on typing speed are off
        # (a test runs at any hour, a browser fills a form in seconds); a test may turn them on.
        "HAILONG_QUALITY_OFFICE_HOURS": "", "HAILONG_QUALITY_FIELD_HOURS": "", "HAILONG_QUALITY_SECONDS_PER_ANSWER": "0",
        **{f"HAILONG_{k}": v for k, v in settings.items()},
    }
    subprocess.run([HAILONG, "init-db"], env=env, check=True, capture_output=True)
    # No household interviews: the browser tests count the enumerator interviews they make.
    subprocess.run([HAILONG, "demo", "--responses", str(responses), "--papi-per-village", "0"], env=env, check=True,
                   capture_output=True)
    server = Server(env, instance)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def running_server(database_url: str, instance: Path, *, responses: int = 300, **settings: str) -> Iterator[str]:
    """Start ``hailong serve`` on a free port with demo data; yield its base URL."""
    with served(database_url, instance, responses=responses, **settings) as server:
        yield server.base
