"""``/healthz``: is this web process able to serve? Checks PostgreSQL and Redis quickly, answers JSON."""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("health check: database unavailable: %s", exc)
        # A broken persistent connection must not poison the next check.
        connection.close_if_unusable_or_obsolete()
        return "unavailable"
    return "ok"


def _check_redis() -> str:
    timeout = settings.TESSERA_HEALTH_TIMEOUT_SECONDS
    client = redis.Redis.from_url(
        settings.REDIS_CLIENT_URL, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        logger.warning("health check: redis unavailable: %s", exc)
        return "unavailable"
    finally:
        client.close()
    return "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when PostgreSQL and Redis answer, 503 otherwise; the body says which one failed."""
    started = time.monotonic()
    checks = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(state == "ok" for state in checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": checks,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
    }
    return JsonResponse(body, status=200 if healthy else 503)
