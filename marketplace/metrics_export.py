"""/metrics: the Prometheus text exposition of every Tessera process, plus values read at scrape time."""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterator

import redis
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from marketplace.broker import queue_depths
from marketplace.events.selectors import outbox_backlog
from payments.selectors import order_counts_by_status

logger = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "::1"})
# generate_latest writes the classic text format; every Prometheus version reads it under this type.
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


class ScrapeTimeCollector(Collector):
    """Values that are cheap to read when Prometheus asks: queue depths (Redis) and orders by status (DB)."""

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("tessera_queue_depth", "Jobs waiting on each Celery queue.", labels=["queue"])
        broker_up = GaugeMetricFamily("tessera_broker_up", "1 when the broker answered this scrape.")
        try:
            depths = queue_depths(settings.TESSERA_CELERY_QUEUES)
        except redis.RedisError as exc:
            logger.warning("metrics: broker unreachable: %s", exc)
            broker_up.add_metric([], 0)
        else:
            broker_up.add_metric([], 1)
            for queue, waiting in depths.items():
                depth.add_metric([queue], waiting)
        yield depth
        yield broker_up
        orders = GaugeMetricFamily("tessera_orders", "Orders in each status.", labels=["status"])
        for status, count in order_counts_by_status().items():
            orders.add_metric([status], count)
        yield orders
        backlog = outbox_backlog()
        pending = GaugeMetricFamily(
            "tessera_outbox_backlog", "Outbox receipts waiting for their handler (alert when it keeps growing)."
        )
        pending.add_metric([], backlog.pending)
        yield pending
        oldest = GaugeMetricFamily(
            "tessera_outbox_oldest_pending_seconds", "Age of the oldest outbox receipt still waiting; 0 when none."
        )
        oldest.add_metric([], backlog.oldest_pending_age_seconds)
        yield oldest
        dead = GaugeMetricFamily(
            "tessera_outbox_dead", "Outbox receipts given up on after TESSERA_OUTBOX_MAX_ATTEMPTS failures."
        )
        dead.add_metric([], backlog.dead)
        yield dead


def metrics_registry() -> CollectorRegistry:
    """Every process's counters: from the shared directory in multiprocess mode, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def _authorised(request: HttpRequest) -> bool:
    token = settings.TESSERA_METRICS_TOKEN
    if token:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode()):
            return True
    return bool(settings.TESSERA_METRICS_LOOPBACK_OPEN and request.META.get("REMOTE_ADDR") in LOOPBACK)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _authorised(request):
        if not settings.TESSERA_METRICS_TOKEN and not settings.TESSERA_METRICS_LOOPBACK_OPEN:
            raise Http404("No such page.")  # nobody may read it here: do not even admit it exists
        return HttpResponse("Send the metrics bearer token.\n", status=403, content_type="text/plain")
    live = CollectorRegistry(auto_describe=False)
    live.register(ScrapeTimeCollector())
    body = generate_latest(metrics_registry()) + generate_latest(live)
    return HttpResponse(body, content_type=TEXT_FORMAT)
