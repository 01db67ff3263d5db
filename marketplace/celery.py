"""The Celery application; workers consume the ingest, ingest_bulk, gpu, delivery and default queues."""

import os
from typing import Any

from celery import Celery
from celery.signals import (
    task_failure,
    task_retry,
    task_success,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
)

from catalog.warmup import models_warm  # imports nothing of Django's: safe before the apps are ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.local")

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Task outcomes are counted where they happen, in the pool process (multiprocess-safe with
# PROMETHEUS_MULTIPROC_DIR); /metrics on the web server sums the files of every process on the host.
def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or sender or "unknown")


@task_success.connect
def _count_success(sender: Any = None, **_: Any) -> None:
    from marketplace.metrics import celery_tasks_total

    celery_tasks_total.labels(task=_task_name(sender), state="succeeded").inc()


@task_failure.connect
def _count_failure(sender: Any = None, **_: Any) -> None:
    from marketplace.metrics import celery_tasks_total

    celery_tasks_total.labels(task=_task_name(sender), state="failed").inc()


@task_retry.connect
def _count_retry(sender: Any = None, request: Any = None, **_: Any) -> None:
    from marketplace.metrics import celery_tasks_total

    name = getattr(request, "task", None) or _task_name(sender)
    celery_tasks_total.labels(task=str(name), state="retried").inc()


@worker_ready.connect
def _serve_worker_metrics(**_: Any) -> None:
    """Where workers run on another host than the web server (docker-compose), they serve their own
    /metrics on TESSERA_WORKER_METRICS_PORT for Prometheus to scrape."""
    port = os.environ.get("TESSERA_WORKER_METRICS_PORT")
    if not port:
        return
    from prometheus_client import start_http_server

    from marketplace.metrics_export import metrics_registry

    start_http_server(int(port), registry=metrics_registry())


# Cold start: a pool process that runs model tasks (the gpu queue) loads the models as it starts, in a thread so
# the pool's start-up timeout is not spent on it (a task that needs a model meanwhile waits on the model's lock).
MODEL_QUEUES = {"gpu"}


@worker_process_init.connect
def _warm_models(**_: Any) -> None:
    import threading

    from django.conf import settings

    consumed = set(app.amqp.queues.consume_from or ())
    if not settings.TESSERA_WARM_MODELS or not consumed & MODEL_QUEUES:
        return
    threading.Thread(target=models_warm, name="models-warm", daemon=True).start()


# A prefork pool process ends with os._exit (no atexit): it sends what it tracked (page views, searches) first.
@worker_process_shutdown.connect
def _flush_tracking(**_: Any) -> None:
    from marketplace import tracking

    tracking.shutdown()
