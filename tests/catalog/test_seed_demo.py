"""Demo seeding processes each demo pattern exactly once: in the seeding process, nothing queued for the workers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command

from catalog import demo
from catalog.models import Pattern
from ingestion.management.commands import seed_demo
from marketplace.broker import broker_client, queue_depths, queue_keys

PROCESSING_QUEUES = [*settings.TESSERA_INGEST_QUEUES, "gpu"]


def test_seed_demo_processes_each_demo_pattern_once_and_queues_nothing(
    transactional_db: None, monkeypatch: Any
) -> None:
    # One mesh and one image pattern stand for the whole demo set (each family takes the same path).
    chosen = [demo.demo_meshes()[0], demo.demo_images()[0]]
    monkeypatch.setattr(seed_demo, "demo_patterns", lambda: chosen)
    keys = [key for queue in PROCESSING_QUEUES for key in queue_keys(queue)]
    broker_client().delete(*keys)
    try:
        _seed_twice(chosen)
    finally:
        broker_client().delete(*keys)  # whatever a failure left queued must not reach the sweeper tests


def _seed_twice(chosen: list[demo.DemoPattern]) -> None:
    call_command("seed_demo")

    patterns = Pattern.objects.filter(creator__username="maker_mia").order_by("title")
    assert sorted(p.title for p in patterns) == sorted(entry[0] for entry in chosen)
    for pattern in patterns:
        assert pattern.status == Pattern.Status.PUBLISHED
        assert pattern.processing_attempts == 0
        assert pattern.enqueued_at is None  # never handed to the broker
        assert pattern.text_embedding is not None  # the model work ran, here
    # Neither the file pipeline nor the model pipeline was queued: a worker starting now has nothing to redo.
    assert queue_depths(PROCESSING_QUEUES) == dict.fromkeys(PROCESSING_QUEUES, 0)

    call_command("seed_demo")  # idempotent: a second seeding neither creates nor queues anything
    assert Pattern.objects.filter(creator__username="maker_mia").count() == len(chosen)
    assert queue_depths(PROCESSING_QUEUES) == dict.fromkeys(PROCESSING_QUEUES, 0)
