"""Rate limits and sign-in throttling, on the ``limits`` library (the one Flask-Limiter uses).

``RATE_LIMIT_STORAGE`` names where the counters live: ``memory://`` (the default: each server
process counts on its own, so the effective limit is at most ``limit × workers``) or
``redis://host:port`` (one count shared by every worker and server). Limits are moving windows.

Sign-in throttling (:class:`LoginThrottle`, used by the web sign-in and the API token endpoint):
usernames are normalised once (:func:`normalize_username`), and failures are counted per
address, per account from one address, and per account from everywhere:

* one address: at most ``LOGIN_MAX_PER_ADDRESS`` failures in 15 minutes (any accounts), then
  that address waits;
* one account from one address: a growing delay — 3 failures a minute, 6 in 10 minutes, 10 in
  an hour — so guessing slows down to a few tries an hour;
* one account from everywhere: ``LOGIN_LOCK_AFTER`` failures in an hour lock the account for an
  hour (an admin lifts it earlier with ``hailong unlock-user``) — but only for addresses the
  user has never signed in from (see :func:`survey.auth.known_address`), so someone else's
  attempts alone never lock the real user out of their usual computer.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter


class RateLimiter:
    """``allow(key, limit, window)``: record one hit, False when over the limit."""

    def __init__(self, uri: str = "memory://") -> None:
        self._lock = threading.Lock()
        self.configure(uri)

    def configure(self, uri: str) -> None:
        with self._lock:
            self.uri = uri
            storage = storage_from_string(uri)
            if not isinstance(storage, Storage):
                raise ValueError(f"RATE_LIMIT_STORAGE {uri!r} is an asynchronous storage; use memory:// or redis://")
            self.storage = storage
            self.strategy = MovingWindowRateLimiter(self.storage)

    def allow(self, key: str, limit: int, window: float = 60.0) -> bool:
        """Record a hit for ``key``; False if it is over ``limit`` hits in the last ``window`` s."""
        return bool(self.strategy.hit(RateLimitItemPerSecond(max(1, int(limit)), max(1, int(window))), "hl", key))

    def test(self, item: RateLimitItem, *keys: str) -> bool:
        """True while ``keys`` are under ``item`` (without recording a hit)."""
        return bool(self.strategy.test(item, "hl", *keys))

    def hit(self, item: RateLimitItem, *keys: str) -> bool:
        return bool(self.strategy.hit(item, "hl", *keys))

    def retry_after(self, item: RateLimitItem, *keys: str) -> int:
        """Seconds until ``keys`` are under ``item`` again (at least 1)."""
        import time

        stats = self.strategy.get_window_stats(item, "hl", *keys)
        return max(1, int(stats.reset_time - time.time()) + 1)

    def clear(self, item: RateLimitItem, *keys: str) -> None:
        self.strategy.clear(item, "hl", *keys)

    def reset(self) -> None:
        self.storage.reset()


limiter = RateLimiter()


def normalize_username(raw: str) -> str:
    """The one form a username is stored, looked up and throttled in: NFC, no surrounding or
    inner white space, lower case."""
    return "".join(unicodedata.normalize("NFC", raw).split()).casefold()


PAIR_TIERS = tuple(parse(x) for x in ("3/minute", "6/10 minutes", "10/hour"))
ADDRESS_WINDOW = "15 minutes"
ACCOUNT_WINDOW = "hour"


@dataclass(frozen=True)
class Refusal:
    reason: str  # "address", "delay" or "locked"
    retry_after: int


class LoginThrottle:
    def __init__(self, limiter: RateLimiter, per_address: int = 30, lock_after: int = 50) -> None:
        self.limiter = limiter
        self.per_address = parse(f"{per_address}/{ADDRESS_WINDOW}")
        self.per_account = parse(f"{lock_after}/{ACCOUNT_WINDOW}")

    def check(self, username: str, address: str) -> Refusal | None:
        """Why this attempt must wait, or None to go ahead (nothing is recorded)."""
        if not self.limiter.test(self.per_address, "login-addr", address):
            return Refusal("address", self.limiter.retry_after(self.per_address, "login-addr", address))
        for tier in PAIR_TIERS:
            if not self.limiter.test(tier, "login-pair", username, address):
                return Refusal("delay", self.limiter.retry_after(tier, "login-pair", username, address))
        return None

    def account_over(self, username: str) -> bool:
        """Has the account met the lock threshold (failures from every address)?"""
        return not self.limiter.test(self.per_account, "login-acct", username)

    def failed(self, username: str, address: str) -> bool:
        """Record a failure; True when the account has just met the lock threshold."""
        self.limiter.hit(self.per_address, "login-addr", address)
        for tier in PAIR_TIERS:
            self.limiter.hit(tier, "login-pair", username, address)
        self.limiter.hit(self.per_account, "login-acct", username)
        return self.account_over(username)

    def succeeded(self, username: str, address: str) -> None:
        for tier in PAIR_TIERS:
            self.limiter.clear(tier, "login-pair", username, address)

    def unlock(self, username: str) -> None:
        self.limiter.clear(self.per_account, "login-acct", username)
