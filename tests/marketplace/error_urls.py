"""The site's URLs plus views that fail on purpose, for the error-page tests (``pytest.mark.urls``)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.urls import path

from marketplace.urls import urlpatterns as site_urlpatterns


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("staff only")


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom: the error page test")


def suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("tampered")


urlpatterns = [
    path("test-errors/403/", forbidden),
    path("test-errors/500/", broken),
    path("test-errors/400/", suspicious),
    *site_urlpatterns,
]
