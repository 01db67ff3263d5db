"""A safety net under the forms and serializers that validate each view's query string.

Catalog pages and the API validate every parameter they read (``catalog.forms``, ``PatternListQuerySerializer``)
and answer 400 with their own page or field errors; they say so with ``validates_query_string``. Views we do not
write — the admin's change-list filters and search, allauth, third-party apps — pass query values straight into
queries, and PostgreSQL refuses a NUL byte with an error that surfaces as a 500. No legitimate URL carries one,
so for every other view a NUL in a query parameter's name or value is answered 400 before the view runs.

``DatabaseUnavailableMiddleware`` answers 503 with Retry-After, not 500, while the database cannot be reached
(a restart, a failover).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

NUL_MESSAGE = "Null characters are not allowed."
View = TypeVar("View", bound=Callable[..., Any])


def validates_query_string(view: View) -> View:
    """Mark a view function that validates every query parameter it reads (DRF views: a class attribute)."""
    view.validates_query_string = True  # type: ignore[attr-defined]
    return view


class RefuseNulInQueryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        view_class = getattr(view_func, "cls", None)  # DRF's as_view() keeps the class here
        if getattr(view_func, "validates_query_string", False) or getattr(view_class, "validates_query_string", False):
            return None
        refused = [
            name.replace("\x00", "\\x00")
            for name, values in request.GET.lists()
            if "\x00" in name or any("\x00" in value for value in values)
        ]
        if not refused:
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({name: [NUL_MESSAGE] for name in refused}, status=400)
        query_errors = [f"{name}: {NUL_MESSAGE}" for name in refused]
        return render(request, "400.html", {"query_errors": query_errors}, status=400)


logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    """A lost or refused database connection is a temporary outage: tell the client when to come back.

    Nothing was saved (the transaction could not commit), so retrying the same request is safe.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
        message = "The service is briefly unavailable. Nothing was saved; please retry in a few seconds."
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            response: HttpResponse = JsonResponse({"detail": message}, status=503)
        else:
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
