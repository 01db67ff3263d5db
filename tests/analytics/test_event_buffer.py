"""Page views and searches are tracked by the request (marketplace.tracking) and written in batches by the drain
task."""

from __future__ import annotations

import subprocess

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from analytics.models import Event
from analytics.services import events_drain
from marketplace import tracking
from marketplace.broker import broker_client
from marketplace.metrics import analytics_events_lost_total
from marketplace.tracking import BUFFER_KEY, SearchPerformed, track
from tests.conftest import wait_for
from tests.factories import PatternFactory, UserFactory

pytestmark = pytest.mark.django_db


def _lost(reason: str) -> float:
    return analytics_events_lost_total.labels(reason=reason)._value.get()


def test_a_page_view_is_written_by_the_drain_not_by_the_request() -> None:
    pattern = PatternFactory.create(title="Buffered lamp")
    buyer = UserFactory.create()
    client = Client()
    client.force_login(buyer)
    before = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(pattern.get_absolute_url()).status_code == 200
        assert Client().get("/search/", {"q": "buffered"}).status_code == 200
    after = timezone.now()
    assert not [q for q in queries.captured_queries if "analytics_event" in q["sql"]]
    assert Event.objects.count() == 0
    tracking.flush()  # as the process's tracking thread does every TESSERA_TRACKING_FLUSH_SECONDS
    assert broker_client().llen(BUFFER_KEY) == 2

    assert events_drain() == 2
    view, search = Event.objects.order_by("id")
    assert (view.kind, view.user_id, view.pattern_id, view.path, view.query, view.result_count, view.metadata) == (
        "page_view",
        buyer.pk,
        pattern.pk,
        pattern.get_absolute_url(),
        "",
        None,
        {},
    )
    assert (search.kind, search.user_id, search.pattern_id, search.query, search.result_count) == (
        "search",
        None,
        None,
        "buffered",
        1,
    )
    assert search.metadata["low_results"] is True
    # The time of the request, not of the drain.
    assert before <= view.created_at <= search.created_at <= after
    assert broker_client().llen(BUFFER_KEY) == 0
    assert events_drain() == 0  # nothing written twice


def test_drain_writes_in_batches_oldest_first_and_forgets_deleted_users() -> None:
    gone = UserFactory.create()
    for n in range(5):
        track(SearchPerformed(user_id=gone.pk, query=f"q{n}", result_count=n))
    gone.delete()
    assert events_drain(batch=2) == 5
    assert list(Event.objects.order_by("id").values_list("query", "user_id")) == [(f"q{n}", None) for n in range(5)]


@override_settings(TESSERA_EVENTS_BUFFER_MAX=3)
def test_a_full_buffer_keeps_the_newest_and_counts_the_oldest_as_lost() -> None:
    lost = _lost("buffer_full")
    for n in range(5):
        track(SearchPerformed(query=f"q{n}"))
    tracking.flush()
    assert _lost("buffer_full") == lost + 2
    assert events_drain() == 3
    assert list(Event.objects.order_by("id").values_list("query", flat=True)) == ["q2", "q3", "q4"]


@pytest.mark.django_db(transaction=True)
def test_the_beat_task_drains_the_buffer_in_a_real_worker(celery_worker_process: subprocess.Popen[bytes]) -> None:
    from analytics.tasks import events_drain as drain_task

    entry = settings.CELERY_BEAT_SCHEDULE["analytics-events-drain"]
    assert (entry["task"], entry["schedule"]) == ("analytics.tasks.events_drain", settings.TESSERA_EVENTS_DRAIN_SECONDS)
    pattern = PatternFactory.create(title="Drained lamp")
    assert Client().get(pattern.get_absolute_url()).status_code == 200
    assert Event.objects.count() == 0
    tracking.flush()  # the worker drains Redis; this process's queue is sent by its own thread
    drain_task.delay()  # as beat sends it
    wait_for(lambda: Event.objects.filter(kind="page_view", pattern=pattern).exists(), what="the drained page view")
    assert broker_client().llen(BUFFER_KEY) == 0
    assert Event.objects.count() == 1
