"""A constant page for `make bench-pages`: the cost of Django itself (middleware, routing, WSGI) with no work.

Routed only when ``TESSERA_BENCH_FLOOR_VIEW`` is on (the benchmark's own server), never in production.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")
