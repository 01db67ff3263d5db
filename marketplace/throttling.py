"""Every throttle in one place: sign-in attempts on all three login paths, and the API-wide rates.

Sign-in (``POST /api/v1/auth/token/``, ``/admin/login/``, allauth's ``/accounts/login/``) is limited
two ways, with counters in the Redis cache:

* per client (IP address): at most ``TESSERA_LOGIN_CLIENT_MAX_FAILURES`` failures per window, whatever
  the usernames; then 429 until the window ends. Only failures count, so many people signing in
  correctly from one address (an office, a load test) are never held back.
* per account: after ``TESSERA_LOGIN_ACCOUNT_FREE_FAILURES`` failures, each further attempt must wait
  ``base * 2^(failures - free)`` seconds (capped) after the last failure. Attempts made while waiting
  are answered 429 without checking the password and are not counted, so guessing costs real time and
  hammering does not lengthen the wait. It is a delay, not a lock: once an attack stops the account is
  usable again within the cap, and a client that has signed in to the account before (a "known
  client", kept 30 days) is not held back by the account's delay at all, so an attacker elsewhere
  cannot keep the real user out. An unknown client still waits: letting every not-yet-throttled
  address through would hand a botnet one free guess per address and make the account limit useless.

Unknown usernames are throttled exactly like real ones, so the answers tell nothing about which
accounts exist. Keys hold HMACs of addresses and usernames, never the raw values. When Redis is down
the throttles let requests through (and log it): an outage must not stop every sign-in.

This lives in the project package because it spans django.contrib.admin, allauth and DRF, none of
which belongs to a domain app. ``marketplace.login_paths`` puts each login path behind it; that is a
second module only because DRF imports the throttle classes below while ``rest_framework.views`` is
still loading, so this one must not import DRF's views, the admin or allauth.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Q
from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework import throttling

logger = logging.getLogger(__name__)

KEY_PREFIX = "throttle:"
# How long an attempt let through a running account delay holds the account's single slot; the
# outcome (a failure or a success) replaces or clears it at once.
ATTEMPT_SLOT_SECONDS = 10


class LoginThrottled(Exception):
    """This sign-in attempt must wait ``retry_after`` seconds; nothing was checked."""

    def __init__(self, *, retry_after: int, scope: str) -> None:
        self.retry_after = max(1, retry_after)
        self.scope = scope
        super().__init__(self.message)

    @property
    def message(self) -> str:
        wait = _duration(self.retry_after)
        if self.scope == "client":
            return f"Too many failed sign-in attempts from your network. Try again in {wait}."
        return f"Too many failed sign-in attempts for this account. Try again in {wait}."


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


def _digest(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def client_address(request: HttpRequest) -> str:
    """The client's address: the socket's, or X-Forwarded-For as far as TESSERA_TRUSTED_PROXY_COUNT trusts it."""
    proxies = settings.TESSERA_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return str(request.META.get("REMOTE_ADDR", ""))


def _account_key(identifier: str) -> str:
    """One key per account whether it is named by username or e-mail; unknown names get their own."""
    name = identifier.strip()
    user_pk = None
    if "\x00" not in name:  # PostgreSQL refuses NUL in text; no account has one in its name
        user_pk = (
            get_user_model()
            .objects.filter(Q(username=name) | Q(email__iexact=name))
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
    return _digest(f"user:{user_pk}" if user_pk is not None else f"name:{name.lower()}")


def _delay(failures: int) -> int:
    exponent = failures - settings.TESSERA_LOGIN_ACCOUNT_FREE_FAILURES
    if exponent < 0:
        return 0
    return int(min(settings.TESSERA_LOGIN_DELAY_MAX_SECONDS, settings.TESSERA_LOGIN_DELAY_BASE_SECONDS * 2**exponent))


def _keys(request: HttpRequest, identifier: str) -> dict[str, str]:
    window = settings.TESSERA_LOGIN_CLIENT_WINDOW_SECONDS
    client = _digest(f"ip:{client_address(request)}")
    account = _account_key(identifier)
    return {
        "client": f"{KEY_PREFIX}login:client:{client}:{int(time.time() // window)}",
        "failures": f"{KEY_PREFIX}login:failures:{account}",
        "gate": f"{KEY_PREFIX}login:gate:{account}",
        "known": f"{KEY_PREFIX}login:known:{account}:{client}",
    }


def _incr(key: str, timeout: int) -> int:
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


def login_check(request: HttpRequest, identifier: str) -> None:
    """Raise LoginThrottled when this attempt must wait; otherwise let it be checked.

    Call it before the password is checked, then ``login_failed`` or ``login_succeeded``.
    """
    try:
        _login_check(request, identifier)
    except RedisError:
        logger.warning("sign-in throttle unavailable (Redis); letting the attempt through", exc_info=True)


def _login_check(request: HttpRequest, identifier: str) -> None:
    now = time.time()
    keys = _keys(request, identifier)
    window = settings.TESSERA_LOGIN_CLIENT_WINDOW_SECONDS
    if int(cache.get(keys["client"], 0)) >= settings.TESSERA_LOGIN_CLIENT_MAX_FAILURES:
        raise LoginThrottled(retry_after=math.ceil(window - now % window), scope="client")
    failures = int(cache.get(keys["failures"], 0))
    if failures < settings.TESSERA_LOGIN_ACCOUNT_FREE_FAILURES or cache.get(keys["known"]):
        return
    # The account is being delayed: one attempt at a time, and only once the delay has run out. add()
    # is atomic (SET NX), so parallel requests cannot all slip through when the delay ends.
    if not cache.add(keys["gate"], now + ATTEMPT_SLOT_SECONDS, timeout=ATTEMPT_SLOT_SECONDS):
        until = float(cache.get(keys["gate"]) or now + 1)
        raise LoginThrottled(retry_after=math.ceil(until - now), scope="account")


def login_failed(request: HttpRequest, identifier: str) -> None:
    """Count a wrong password (or unknown user) against the client and the account."""
    try:
        keys = _keys(request, identifier)
        _incr(keys["client"], settings.TESSERA_LOGIN_CLIENT_WINDOW_SECONDS + 1)
        failures = _incr(keys["failures"], settings.TESSERA_LOGIN_FAILURE_MEMORY_SECONDS)
        cache.touch(keys["failures"], settings.TESSERA_LOGIN_FAILURE_MEMORY_SECONDS)
        delay = _delay(failures)
        if delay:
            cache.set(keys["gate"], time.time() + delay, timeout=delay)
    except RedisError:
        logger.warning("sign-in throttle unavailable (Redis); failure not counted", exc_info=True)
    logger.info("sign-in failed from %s", _digest(f"ip:{client_address(request)}")[:12])


def login_succeeded(request: HttpRequest, identifier: str) -> None:
    """Forget the account's failures and remember this client as one the account's owner uses.

    The client's own failure count is kept: signing in to one's own account must not buy more guesses
    at other accounts.
    """
    try:
        keys = _keys(request, identifier)
        cache.delete_many([keys["failures"], keys["gate"]])
        cache.set(keys["known"], 1, timeout=settings.TESSERA_LOGIN_KNOWN_CLIENT_SECONDS)
    except RedisError:
        logger.warning("sign-in throttle unavailable (Redis); success not recorded", exc_info=True)


# --- API-wide rates -------------------------------------------------------------------------------


class _FixedWindowThrottle(throttling.SimpleRateThrottle):
    """DRF's rate throttle counted with one INCR per request in a fixed window.

    DRF's own keeps a list of every request time in the cache and rewrites it on each request, which
    is slow at the generous rates used here (thousands a minute).
    """

    cache_format = KEY_PREFIX + "api:%(scope)s:%(ident)s"

    wait_seconds = 1.0

    def get_rate(self) -> str | None:
        # Read per request (DRF's class reads them once at import), so a test's override applies.
        rest_framework: dict[str, Any] = settings.REST_FRAMEWORK
        rates = rest_framework.get("DEFAULT_THROTTLE_RATES") or {}
        rate = rates.get(self.scope)
        return str(rate) if rate else None

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        limit, window = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        if key is None or limit is None or window is None:
            return True
        now = time.time()
        window_start = int(now // window) * window
        self.wait_seconds = window_start + window - now
        try:
            count = _incr(f"{key}:{window_start}", window + 1)
        except RedisError:
            logger.warning("API throttle unavailable (Redis); letting the request through", exc_info=True)
            return True
        return count <= limit

    def wait(self) -> float | None:
        return math.ceil(self.wait_seconds)


class AnonRateThrottle(_FixedWindowThrottle):
    """Anonymous API use, per client address (``TESSERA_THROTTLE_ANON_RATE``)."""

    scope = "anon"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": _digest(f"ip:{client_address(request)}")}


class UserRateThrottle(_FixedWindowThrottle):
    """Authenticated API use, per user (``TESSERA_THROTTLE_USER_RATE``)."""

    scope = "user"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


# --- "Tell us what you wanted" (issue 10) ----------------------------------------------------------


def search_request_throttle(request: HttpRequest) -> int:
    """Count one "tell us what you wanted" post; seconds to wait when the client is over its rate, else 0.

    ``TESSERA_SEARCH_REQUEST_RATE`` posts per client address (per account when signed in) per
    ``TESSERA_SEARCH_REQUEST_WINDOW_SECONDS``. Redis down: the post is let through (it is only analytics).
    """
    return anonymous_post_throttle(
        request,
        scope="search-request",
        rate=settings.TESSERA_SEARCH_REQUEST_RATE,
        window=settings.TESSERA_SEARCH_REQUEST_WINDOW_SECONDS,
    )


# --- Takedown notices and other anonymous posts (issue 14, h/trust) ---------------------------------------------


def anonymous_post_throttle(request: HttpRequest, *, scope: str, rate: int, window: int) -> int:
    """Count one post of ``scope`` from this client (per account when signed in); seconds to wait when it is over
    ``rate`` posts per ``window`` seconds, else 0 (one fixed window per client and scope). Redis down: let through
    (a legal notice or a search request must not be lost to an outage)."""
    user = getattr(request, "user", None)
    ident = f"user:{user.pk}" if user is not None and user.is_authenticated else f"ip:{client_address(request)}"
    now = time.time()
    window_start = int(now // window) * window
    try:
        count = _incr(f"{KEY_PREFIX}{scope}:{_digest(ident)}:{window_start}", window + 1)
    except RedisError:
        logger.warning("%s throttle unavailable (Redis); letting the post through", scope, exc_info=True)
        return 0
    if count <= rate:
        return 0
    return max(1, math.ceil(window_start + window - now))
