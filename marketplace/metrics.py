"""Prometheus metrics that the apps record; ``marketplace.metrics_export`` serves them at /metrics.

With ``PROMETHEUS_MULTIPROC_DIR`` set before prometheus_client is first imported (gunicorn workers, Celery
pool processes), each process writes its samples to files there and a scrape sums them; without it (tests,
runserver) they live in the process. Only cheap, bounded labels: no ids, no paths.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import Counter

UPLOAD_VERDICTS = ("accepted", "refused", "busy", "rate_limited")

uploads_total = Counter(
    "tessera_uploads",
    "Upload requests (new patterns and resumable upload sessions) by verdict.",
    ["verdict"],
)
webhooks_total = Counter(
    "tessera_stripe_webhooks",
    "Stripe webhook deliveries by what the handler did with them.",
    ["outcome"],
)
downloads_total = Counter(
    "tessera_downloads",
    "Download requests by outcome: served, preparing (copy being made), expired, limited, refused.",
    ["outcome"],
)
celery_tasks_total = Counter(
    "tessera_celery_tasks",
    "Celery tasks finished by state (succeeded, failed, retried), counted in the worker.",
    ["task", "state"],
)
analytics_events_lost_total = Counter(
    "tessera_analytics_events_lost",
    "Tracked page views and searches lost (marketplace.tracking): queue_full, broker_unreachable, buffer_full, "
    "process_exit, unreadable.",
    ["reason"],
)

for _verdict in UPLOAD_VERDICTS:
    uploads_total.labels(verdict=_verdict)


def multiprocess_dir_prepare(path: Path) -> Path:
    """Empty ``path`` and point ``PROMETHEUS_MULTIPROC_DIR`` at it, for the processes started after this.

    Call once when a stack starts, before any worker process: files left by an earlier run would be summed
    with the new ones.
    """
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path
