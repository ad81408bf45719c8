"""Rate limits (flask-limiter): counted in this process on the embedded default, or in Redis
when PORTAL_RATELIMIT_STORAGE_URL names one, so that every worker and every host counts
against the same number. The moving window is exact and each hit is one atomic step in
either storage (a Lua script in Redis), so a parallel burst cannot slip past a limit.

Two ways to count: ``limited(name)`` decorates a view and counts per client address
(after ProxyFix, see PORTAL_PROXY_HOPS); ``hit(name, key)`` counts per something the request
names (an account, an e-mail address) from inside a view. Either answers 429 with
``Retry-After`` and the readable error page (an alert fragment for htmx).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from portal.core.i18n import lazy_gettext as _l

__all__ = ["DEFAULT_LIMITS", "Limited", "clear", "client_key", "hit", "init_app", "limited",
           "limiter", "rate"]

log = logging.getLogger(__name__)

# Each limit by name. A whole office often reaches the portal through one address (NAT),
# every official logging in around eight: the per-client limit of logins is generous (it
# slows down trying many accounts) and the per-account one strict (it stops guessing).
DEFAULT_LIMITS = {
    "login_client": "200 per 15 minutes",
    "login_account": "5 per 15 minutes",  # attempts; a successful login clears it
    "reset_client": "10 per hour",
    "reset_address": "3 per hour",
    "register_client": "10 per hour",
    "verify_view": "60 per minute",  # /v/<token>: QR scans
    "verify_check": "10 per minute",  # /v/<token>: a presented PDF checked
    "upload": "60 per 10 minutes",  # requests carrying files, per account (else client)
}


def client_key() -> str:
    """The client's address (the proxy's client once ProxyFix is configured)."""
    return request.remote_addr or "?"


limiter = Limiter(key_func=client_key, key_prefix="absah", headers_enabled=False)


class Limited(TooManyRequests):
    """A limit counted by ``hit`` was reached; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after


def rate(name: str) -> str:
    """The limit in force for ``name`` (PORTAL_RATELIMITS may override the default)."""
    return current_app.extensions["portal.limits"][name]


_LIMITED_VIEWS: set[str] = set()  # module.name of every view ``limited`` decorates


def limited(name: str, methods=("POST",)):
    """Decorate a view: at most ``rate(name)`` requests per client address."""
    decorate = limiter.limit(lambda: rate(name), methods=list(methods), scope=name)

    def apply(view):
        _LIMITED_VIEWS.add(f"{view.__module__}.{view.__name__}")
        return decorate(view)
    return apply


def _unlimited() -> bool:
    """Whether no limit applies to this request's view: flask-limiter then skips its work
    (resolving limits costs tens of microseconds, on every request of the hot pages)."""
    endpoints = current_app.extensions.get("portal.limited_endpoints")
    if endpoints is None:
        endpoints = current_app.extensions["portal.limited_endpoints"] = {
            endpoint for endpoint, view in current_app.view_functions.items()
            if f"{view.__module__}.{view.__name__}" in _LIMITED_VIEWS}
    return request.endpoint not in endpoints


def _key(name: str, value: str) -> str:
    # Addresses and accounts are personal data: the storage only sees a hash of them.
    return hashlib.sha256(f"{name}\0{value}".encode()).hexdigest()[:32]


# Where ``hit`` counts while the shared storage (Redis) does not answer: in this process,
# as on the embedded default. A login must not fail because the counter is away. Made at
# the first need (a memory storage starts a thread).
_in_process: list[MovingWindowRateLimiter] = []


def _local_strategy() -> MovingWindowRateLimiter:
    if not _in_process:
        _in_process.append(MovingWindowRateLimiter(MemoryStorage()))
    return _in_process[0]


def _count(strategy, item, name: str, key: str) -> None:
    if not strategy.hit(item, "absah", name, key):
        reset, _remaining = strategy.get_window_stats(item, "absah", name, key)
        raise Limited(max(1, math.ceil(reset - time.time())))


def hit(name: str, value: str) -> None:
    """Count one attempt of ``name`` for ``value`` (an account, an address); raise Limited
    (429) when the limit is reached. Counted before the attempt is tried, atomically."""
    if not limiter.enabled:
        return
    item = parse(rate(name))
    key = _key(name, value)
    try:
        _count(limiter.limiter, item, name, key)
    except Limited:
        raise
    except Exception as exc:  # noqa: BLE001 - the storage is unreachable: count here
        log.warning("rate limit storage unreachable (%s): counting %s in this process",
                    exc, name)
        _count(_local_strategy(), item, name, key)


def clear(name: str, value: str) -> None:
    """Forget the attempts of ``name`` for ``value`` (a login that succeeded)."""
    if not limiter.enabled:
        return
    item, key = parse(rate(name)), _key(name, value)
    if _in_process:
        _in_process[0].clear(item, "absah", name, key)
    try:
        limiter.limiter.clear(item, "absah", name, key)
    except Exception as exc:  # noqa: BLE001 - unreachable: its window ends on its own
        log.warning("rate limit storage unreachable (%s): %s not cleared there", exc, name)


def _parse_overrides(text: str) -> dict[str, str]:
    overrides = {}
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        name, _, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if name not in DEFAULT_LIMITS:
            raise ValueError(f"PORTAL_RATELIMITS: unknown limit {name!r}; known: "
                             f"{', '.join(DEFAULT_LIMITS)}")
        parse(value)  # refuses a malformed limit at start-up, not at the first request
        overrides[name] = value
    return overrides


def _count_uploads():
    """Requests that carry files count against "upload", per account (else per client)."""
    if request.method != "POST" or request.mimetype != "multipart/form-data":
        return
    if not any(f.filename for f in request.files.values()):
        return
    who = (f"user:{current_user.get_id()}" if current_user.is_authenticated
           else f"client:{client_key()}")
    hit("upload", who)


def _retry_after(exc) -> int:
    if isinstance(exc, Limited):
        return exc.retry_after
    current = limiter.current_limit
    return max(1, math.ceil(current.window[0] - time.time())) if current else 60


def init_app(app: Flask, error_response) -> None:
    """Bind the limiter (storage from the config) and answer 429 with Retry-After."""
    config = app.extensions["portal.config"]
    app.extensions["portal.limits"] = {**DEFAULT_LIMITS, **_parse_overrides(config.ratelimits)}
    # Redis down: the limits of ``limited`` count in this process until it answers again
    # (flask-limiter checks it now and then), instead of every limited page (the QR
    # verification page among them) answering 500.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
    if limiter.enabled:
        # flask-limiter checks every request for limits; most views have none, and the inbox
        # is a hot path: its check runs only where ``limited`` put a limit.
        hooks = app.before_request_funcs.setdefault(None, [])
        check = limiter._check_request_limit
        if check in hooks:
            hooks[hooks.index(check)] = lambda: None if _unlimited() else check()
    app.before_request(_count_uploads)

    def _too_many(exc):
        seconds = _retry_after(exc)
        minutes = max(1, math.ceil(seconds / 60))
        response = error_response(429, _l(
            "Terlalu banyak percobaan. Coba lagi dalam %(n)s menit.", n=minutes))
        response.headers["Retry-After"] = str(seconds)
        response.headers["Cache-Control"] = "no-store"
        return response

    app.register_error_handler(RateLimitExceeded, _too_many)
    app.register_error_handler(Limited, _too_many)
