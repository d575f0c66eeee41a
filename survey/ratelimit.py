"""Rate limits and sign-in throttling, on Flask-Limiter (its storage, strategy and key prefix)
and the ``limits`` library underneath it.

Every app gets its own ``flask_limiter.Limiter`` (:meth:`RateLimiter.init_app`, called by
:func:`survey.security.init_app`), configured from the settings:

* ``RATE_LIMIT_STORAGE`` names where the counters live: ``memory://`` (the embedded default:
  each server process counts on its own, so the effective limit is at most ``limit × workers``)
  or ``redis://host:6379/0`` (production: one count shared by every worker and every server);
* ``RATE_LIMIT_PREFIX`` starts every counter's key (default ``hailong``), so installations
  or test runs sharing one Redis never count each other's requests;
* limits are moving windows.

The module-level :data:`limiter` is the current app's limiter. Its keys are what is limited:
``cred:<id>`` (an API credential: a device or an enumerator's token), ``web:<address>`` and
``kiosk-unregistered:<address>`` (public forms: the client address as ``request.remote_addr``
gives it, i.e. after werkzeug's ``ProxyFix`` when ``TRUSTED_PROXIES`` says how many reverse
proxies in front of the app to believe; see :func:`client_address`), and the sign-in keys below.

Sign-in throttling (:class:`LoginThrottle`, used by the web sign-in, the API token endpoint and
the OpenRosa endpoints): usernames are normalised once (:func:`normalize_username`), and
failures are counted per address, per account from one address, and per account from everywhere:

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

import time
import unicodedata
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import Storage
from limits.strategies import RateLimiter as Strategy

EXTENSION = "hailong.limiter"


def client_address() -> str:
    """The client's address: the connection's, or the one the ``TRUSTED_PROXIES`` nearest
    reverse proxies report in ``X-Forwarded-For`` (werkzeug's ``ProxyFix`` has already put it in
    ``remote_addr``); addresses a client writes itself further left are never believed."""
    return (request.remote_addr or "unknown")[:45]


class RateLimiter:
    """The current app's Flask-Limiter: ``allow(key, limit, window)`` records one hit and is
    False when over the limit; ``test``/``hit``/``retry_after``/``clear`` for the throttles."""

    def init_app(self, app: Flask) -> Limiter:
        uri = str(app.config.get("RATE_LIMIT_STORAGE") or "memory://")
        ext = Limiter(key_func=client_address, storage_uri=uri, strategy="moving-window",
                      key_prefix=str(app.config.get("RATE_LIMIT_PREFIX") or "hailong"), headers_enabled=True)
        ext.init_app(app)
        if not isinstance(ext.storage, Storage):
            raise ValueError(f"RATE_LIMIT_STORAGE {uri!r} is an asynchronous storage; use memory:// or redis://")
        app.extensions[EXTENSION] = ext
        return ext

    @staticmethod
    def _ext() -> Limiter:
        return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]

    @property
    def prefix(self) -> str:
        return str(current_app.config.get("RATE_LIMIT_PREFIX") or "hailong")

    @property
    def strategy(self) -> Strategy:
        return self._ext().limiter

    def allow(self, key: str, limit: int, window: float = 60.0) -> bool:
        """Record a hit for ``key``; False if it is over ``limit`` hits in the last ``window`` s."""
        return self.hit(self.per(limit, window), key)

    @staticmethod
    def per(limit: int, window: float = 60.0) -> RateLimitItem:
        return RateLimitItemPerSecond(max(1, int(limit)), max(1, int(window)))

    def test(self, item: RateLimitItem, *keys: str) -> bool:
        """True while ``keys`` are under ``item`` (without recording a hit)."""
        return bool(self.strategy.test(item, self.prefix, *keys))

    def hit(self, item: RateLimitItem, *keys: str) -> bool:
        return bool(self.strategy.hit(item, self.prefix, *keys))

    def retry_after(self, item: RateLimitItem, *keys: str) -> int:
        """Seconds until ``keys`` are under ``item`` again (at least 1)."""
        stats = self.strategy.get_window_stats(item, self.prefix, *keys)
        return max(1, int(stats.reset_time - time.time()) + 1)

    def clear(self, item: RateLimitItem, *keys: str) -> None:
        self.strategy.clear(item, self.prefix, *keys)

    def reset(self) -> None:
        self._ext().reset()


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
