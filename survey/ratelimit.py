"""A small sliding-window rate limiter, per key, in process memory.

Each gunicorn worker keeps its own window, so the effective limit is at most
``limit × workers``; that is enough to stop a runaway client without a shared store.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, limit: int, window: float = 60.0) -> bool:
        """Record a hit for ``key``; False if it is over ``limit`` hits in the last ``window`` s."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle keys
                for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - window]:
                    del self._hits[k]
            return True


limiter = RateLimiter()
