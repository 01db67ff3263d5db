"""Whole-page cache of the catalogue for visitors who carry no session, and the Cache-Control of those pages.

Why whole pages, and why only for visitors without a session cookie: a catalogue page is the same for every
such visitor except for two things, which are punched out before a page is stored and filled in per request
when it is served:

- the CSRF token of any form on the page (add to cart): a stored page has a placeholder where the renderer's
  token was; each visitor gets a token of their own (and the matching cookie), so no token is ever shared;
- the CSP nonce of an inline script: a fresh one per response, in the page and in the header alike.

What else differs between visitors lives in the session (cart count, messages, the signed-in user): a request
with a session cookie (or a messages cookie, or an API token) is never served from, nor stored in, the cache,
so no cart count or username can reach another visitor. Caching fragments instead would leave the view, its
queries and most of the rendering to run on every request; caching selector results would still render.

Stored pages are keyed by a catalogue version that ``catalogue_changed()`` bumps after a pattern is published,
hidden (rejected, reprocessed) or re-tagged, so such a change shows at once; TESSERA_PAGE_CACHE_SECONDS bounds
how long any other edit (an admin changing a price) can take to show. Page views and searches served from the
cache are still recorded: the view lists the events it recorded with ``page_cache_remember_event`` and a cache
hit records them again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import (  # type: ignore[attr-defined]  # private, stable since Django 4.1
    CSRF_TOKEN_LENGTH,
    _unmask_cipher_token,
    get_token,
)
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from marketplace.tracking import TrackingEvent, request_context, track

logger = logging.getLogger(__name__)

View = TypeVar("View", bound=Callable[..., Any])
Value = TypeVar("Value")

VERSION_KEY = "page-cache:catalogue-version"
CSRF_PLACEHOLDER = "__tessera_csrf_token__"
NONCE_PLACEHOLDER = "__tessera_csp_nonce__"
_TOKEN_CANDIDATE = re.compile(rf"[A-Za-z0-9]{{{CSRF_TOKEN_LENGTH}}}")
# Headers of the rendered response that a cached copy keeps (the rest are set per response by middleware).
_KEPT_HEADERS = ("Content-Type", "Content-Language", "Allow", "Vary")


def cacheable_page(view: View) -> View:
    """Mark a catalogue page (or a DRF view class, with ``anonymous_page_cache = True``) as the same for everyone
    without a session: served from the page cache to them, ``Cache-Control: public`` for shared caches."""
    view.anonymous_page_cache = True  # type: ignore[attr-defined]
    return view


def _marked(view_func: Callable[..., Any]) -> bool:
    view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    return bool(getattr(view_func, "anonymous_page_cache", False) or getattr(view_class, "anonymous_page_cache", False))


def catalogue_changed() -> None:
    """Every cached catalogue page is stale from the moment the current transaction commits."""
    transaction.on_commit(_bump_version)


def _bump_version() -> None:
    # A time, not a counter: after Redis lost the key, a new version never collides with an old page's.
    cache.set(VERSION_KEY, time.time_ns(), timeout=None)


def _current_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = time.time_ns()
        cache.add(VERSION_KEY, version, timeout=None)
        version = cache.get(VERSION_KEY, version)
    return int(version)


def catalogue_cached(name: str, compute: Callable[[], Value], *, keep_none: bool = True) -> Value:
    """A value derived from the published catalogue (model instances with their prefetched relations pickle
    whole), kept until the catalogue changes or for TESSERA_PAGE_CACHE_SECONDS. Signed-in visitors' pages, which
    the page cache never serves, use it for what is the same for everyone (home's newest patterns, popular tags,
    "more like this", a published pattern with its relations). ``keep_none=False``: a None is not kept (a lookup
    by a visitor-chosen key that found nothing)."""
    if not settings.TESSERA_PAGE_CACHE:
        return compute()
    key = f"catalogue-data:{settings.TESSERA_RELEASE}:{name}"
    found = cache.get_many([VERSION_KEY, key])
    version = found.get(VERSION_KEY)
    if version is None:
        version = _current_version()
    entry = found.get(key)
    if entry is not None and entry["version"] == version:
        return entry["value"]  # type: ignore[no-any-return]
    value = compute()
    if value is not None or keep_none:
        cache.set(key, {"version": version, "value": value}, timeout=settings.TESSERA_PAGE_CACHE_SECONDS)
    return value


def catalogue_fragment_key() -> str:
    """What a cached template fragment of catalogue data is keyed on (``{% cache ... catalogue_version %}``):
    the release and the catalogue version, read before the data the fragment shows."""
    return f"{settings.TESSERA_RELEASE}:{_current_version()}"


def page_cache_remember_event(request: HttpRequest, event: TrackingEvent) -> None:
    """Note a page view or search the view tracked, so that serving this page from the cache tracks it too (as
    no user: the page cache only serves visitors who are not signed in; at the time of that request)."""
    events = getattr(request, "_page_cache_events", None)
    if events is not None:
        events.append(event)


def _impersonal(request: HttpRequest) -> bool:
    """A GET that carries nothing personal: no session (cart, sign-in, messages) and no API credentials."""
    if request.method != "GET":
        return False
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies or "messages" in cookies:
        return False
    return "HTTP_AUTHORIZATION" not in request.META


def _key(request: HttpRequest) -> str:
    raw = "\n".join(
        [
            request.scheme or "",
            request.get_host(),
            request.get_full_path(),
            request.headers.get("Accept", ""),
        ]
    )
    return f"page-cache:{settings.TESSERA_RELEASE}:{hashlib.sha256(raw.encode()).hexdigest()}"


def _public_cache_control() -> str:
    return (
        f"public, max-age={settings.TESSERA_PAGE_CACHE_MAX_AGE}, "
        f"stale-while-revalidate={settings.TESSERA_PAGE_CACHE_STALE_WHILE_REVALIDATE}"
    )


PRIVATE_CACHE_CONTROL = "private, no-store"


class AnonymousPageCacheMiddleware:
    """Serves and stores marked pages for visitors without a session; sets Cache-Control on every page.

    Must come after CsrfViewMiddleware (which reads the visitor's CSRF cookie) and the CSP middleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        key = getattr(request, "_page_cache_key", None)
        if key is not None:
            self._store(request, response, key)
        if getattr(request, "_page_cache_marked", False):
            self._cache_headers(request, response)
        elif settings.SESSION_COOKIE_NAME in request.COOKIES and not response.has_header("Cache-Control"):
            # Anything shown to a session holder may be personal (cart, library, orders): never in a shared cache.
            response["Cache-Control"] = PRIVATE_CACHE_CONTROL
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        if not _marked(view_func):
            return None
        request._page_cache_marked = True  # type: ignore[attr-defined]
        if not (settings.TESSERA_PAGE_CACHE and _impersonal(request)):
            return None
        key = _key(request)
        # One round trip for the catalogue version and the page: a page stored under an older version is stale.
        found = cache.get_many([VERSION_KEY, key])
        version = found.get(VERSION_KEY)
        if version is None:
            version = _current_version()
        entry = found.get(key)
        if entry is None or entry["version"] != version:
            request._page_cache_key = key  # type: ignore[attr-defined]
            request._page_cache_version = version  # type: ignore[attr-defined]
            request._page_cache_events = []  # type: ignore[attr-defined]
            return None
        return self._serve(request, entry)

    def _serve(self, request: HttpRequest, entry: dict[str, Any]) -> HttpResponse:
        content: bytes = entry["content"]
        if entry["csrf"]:
            # This visitor's own token (from their cookie, or a new one that CsrfViewMiddleware sets as a cookie).
            content = content.replace(CSRF_PLACEHOLDER.encode(), get_token(request).encode())
        if entry["nonce"]:
            nonce = str(getattr(request, "csp_nonce", ""))
            content = content.replace(NONCE_PLACEHOLDER.encode(), nonce.encode())
        response = HttpResponse(content, status=entry["status"])
        for header, value in entry["headers"].items():
            response[header] = value
        response["X-Page-Cache"] = "hit"
        now = timezone.now()
        context = request_context(request)  # this visitor's, not the one the page was stored for (None: a bot)
        for event in entry["events"]:
            if context is not None and isinstance(event, TrackingEvent):  # older code kept dicts: not replayed
                track(dataclasses.replace(event, user_id=None, at=now, **context))
        return response

    def _store(self, request: HttpRequest, response: HttpResponseBase, key: str) -> None:
        if (
            response.status_code != 200
            or response.streaming
            or not isinstance(response, HttpResponse)
            or response.cookies
            or "private" in response.get("Cache-Control", "")
            or "no-store" in response.get("Cache-Control", "")
        ):
            return
        session = getattr(request, "session", None)
        if session is not None and session.modified:
            return
        messages = getattr(request, "_messages", None)
        if messages is not None and getattr(messages, "_queued_messages", None):
            return
        content = response.content
        csrf = bool(request.META.get("CSRF_COOKIE_NEEDS_UPDATE"))
        if csrf:
            content = self._punch_csrf(request, content)
        nonce = getattr(request, "_csp_nonce", None)
        if isinstance(nonce, str) and nonce:
            content = content.replace(nonce.encode(), NONCE_PLACEHOLDER.encode())
        entry = {
            # The version read before the view queried the database: a change committed meanwhile bumped it
            # past this, so the page is never served as current.
            "version": request._page_cache_version,  # type: ignore[attr-defined]
            "status": response.status_code,
            "content": content,
            "headers": {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)},
            "csrf": csrf,
            "nonce": isinstance(nonce, str) and bool(nonce),
            "events": list(getattr(request, "_page_cache_events", [])),
        }
        cache.set(key, entry, timeout=settings.TESSERA_PAGE_CACHE_SECONDS)
        response["X-Page-Cache"] = "miss"

    @staticmethod
    def _punch_csrf(request: HttpRequest, content: bytes) -> bytes:
        """Every masked form of this visitor's CSRF secret in the page becomes the placeholder."""
        secret = request.META.get("CSRF_COOKIE", "")
        text = content.decode("utf-8", errors="surrogateescape")

        def punch(match: re.Match[str]) -> str:
            return CSRF_PLACEHOLDER if _unmask_cipher_token(match.group(0)) == secret else match.group(0)

        return _TOKEN_CANDIDATE.sub(punch, text).encode("utf-8", errors="surrogateescape")

    @staticmethod
    def _cache_headers(request: HttpRequest, response: HttpResponseBase) -> None:
        patch_vary_headers(response, ("Cookie",))
        if response.has_header("Cache-Control"):
            return
        # A page that carries a CSRF token (a form) is this visitor's own, even when it came from the page cache.
        personal = not _impersonal(request) or bool(request.META.get("CSRF_COOKIE_NEEDS_UPDATE"))
        if response.status_code == 200 and not personal and not response.cookies:
            response["Cache-Control"] = _public_cache_control()
        else:
            response["Cache-Control"] = PRIVATE_CACHE_CONTROL
