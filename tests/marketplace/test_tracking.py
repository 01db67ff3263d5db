"""Page-view and search tracking (marketplace.tracking): the request only queues, a thread per process sends to
Redis, a broker outage loses the events and counts them; the search page and the API search record the same event;
"tell us what you wanted" is a domain event that analytics turns into its row from the outbox."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from django.test import Client
from django.test.utils import override_settings

from analytics.models import Event
from analytics.services import events_drain
from marketplace import tracking
from marketplace.broker import broker_client
from marketplace.events.models import EventRecord, HandlerReceipt
from marketplace.events.services import outbox_drain
from marketplace.metrics import analytics_events_lost_total
from tests.conftest import wait_for
from tests.factories import PatternFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
DEAD_SOCKET = "unix:///nonexistent/tessera-redis.sock"
COMPARED = ("kind", "user_id", "pattern_id", "query", "result_count", "metadata")


def _lost(reason: str) -> float:
    return analytics_events_lost_total.labels(reason=reason)._value.get()


def test_a_page_view_with_the_broker_down_answers_200_and_counts_the_lost_view() -> None:
    pattern = PatternFactory.create(title="Outage lamp")
    lost = _lost("broker_unreachable")
    with override_settings(REDIS_CLIENT_URL=DEAD_SOCKET):
        # The sender is held (as if stuck on the dead broker): the request still answers, having only queued.
        with tracking._queue.send_lock:
            response = Client().get(pattern.get_absolute_url())
            assert response.status_code == 200
            assert tracking.queued() == 1
            assert _lost("broker_unreachable") == lost  # the request never talked to the broker
        assert tracking.flush() == 0
    assert _lost("broker_unreachable") == lost + 1
    assert tracking.queued() == 0
    assert events_drain() == 0
    assert not Event.objects.exists()


def test_the_flush_thread_delivers_queued_views_to_analytics_rows() -> None:
    pattern = PatternFactory.create(title="Flushed lamp")
    viewer = UserFactory.create()
    client = Client()
    client.force_login(viewer)
    assert client.get(pattern.get_absolute_url()).status_code == 200
    assert client.get("/").status_code == 200
    # No flush() here: the process's own thread sends the queue within TESSERA_TRACKING_FLUSH_SECONDS.
    wait_for(lambda: broker_client().llen(tracking.BUFFER_KEY) == 2, timeout=30, interval=0.05, what="the send")
    assert tracking.queued() == 0
    assert not Event.objects.exists()
    assert events_drain() == 2
    rows = list(Event.objects.order_by("id").values_list("kind", "user_id", "pattern_id", "path", "query"))
    assert rows == [
        ("page_view", viewer.pk, pattern.pk, pattern.get_absolute_url(), ""),
        ("page_view", viewer.pk, None, "/", ""),
    ]
    assert events_drain() == 0


def test_a_full_queue_refuses_the_newest_event_and_counts_it() -> None:
    lost = _lost("queue_full")
    with override_settings(TESSERA_TRACKING_QUEUE_MAX=2), tracking._queue.send_lock:  # the sender is stuck
        for n in range(3):
            tracking.track(tracking.SearchPerformed(query=f"q{n}"))
        assert tracking.queued() == 2
    assert _lost("queue_full") == lost + 1
    assert events_drain() == 2
    assert list(Event.objects.order_by("id").values_list("query", flat=True)) == ["q0", "q1"]


def test_a_forked_process_starts_with_an_empty_queue_of_its_own() -> None:
    with tracking._queue.send_lock:  # this process's thread holds off meanwhile
        tracking.track(tracking.PageViewed(path="/before-fork/"))
        assert tracking.queued() == 1
        pid = os.fork()
        if pid == 0:  # the child (a gunicorn worker, a Celery pool process): nothing of the parent's to send twice
            fresh = tracking.queued() == 0 and tracking._queue.thread is None and tracking._queue.pid == os.getpid()
            os._exit(0 if fresh else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert tracking.queued() == 1  # the parent's event is still the parent's to send
    assert events_drain() == 1
    assert list(Event.objects.values_list("path", flat=True)) == ["/before-fork/"]


def test_the_search_page_and_the_api_record_the_same_search() -> None:
    PatternFactory.create(title="Axolotl planter")
    PatternFactory.create(title="Flower pot")
    buyer = UserFactory.create()
    client = Client()
    client.force_login(buyer)
    assert client.get("/search/", {"q": "axolotll planter"}).status_code == 200
    assert client.get("/api/v1/patterns/", {"q": "axolotll planter"}).status_code == 200
    assert events_drain() == 2
    page, api = Event.objects.order_by("id")
    assert (page.path, api.path) == ("/search/", "/api/v1/patterns/")
    assert [getattr(page, name) for name in COMPARED] == [getattr(api, name) for name in COMPARED]
    assert [getattr(page, name) for name in COMPARED] == [
        "search",
        buyer.pk,
        None,
        "axolotll planter",
        1,
        {"low_results": True, "did_you_mean": "axolotl planter"},
    ]


def test_tell_us_what_you_wanted_is_one_domain_event_with_its_actor_and_one_analytics_row() -> None:
    buyer = UserFactory.create(username="wanda")
    client = Client()
    client.force_login(buyer)
    response = client.post("/search/request/", {"q": "submarine", "wanted": "A U-boat in two halves"})
    assert response.status_code == 302
    stored = EventRecord.objects.get()
    assert (stored.type, stored.actor_id, stored.actor_username) == ("search.requested", buyer.pk, "wanda")
    assert stored.data == {"query": "submarine", "wanted": "A U-boat in two halves", "path": "/search/request/"}
    # Written by analytics' outbox handler after commit, not by the request.
    assert not Event.objects.exists()
    assert list(HandlerReceipt.objects.filter(handler__startswith="analytics.").values_list("handler", "status")) == [
        ("analytics.handlers.search_requested", "pending")
    ]
    outbox_drain()
    assert HandlerReceipt.objects.get(handler="analytics.handlers.search_requested").status == "done"
    assert outbox_drain() == 0  # a second drain repeats nothing
    row = Event.objects.get()
    assert (row.kind, row.user_id, row.query, row.path, row.metadata, row.created_at) == (
        "search_request",
        buyer.pk,
        "submarine",
        "/search/request/",
        {"wanted": "A U-boat in two halves"},
        stored.at,
    )
    assert events_drain() == 0  # not tracking: nothing went through the Redis list


def _imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_catalog_and_the_kernel_tracking_path_never_import_analytics() -> None:
    paths = [*sorted((ROOT / "catalog").rglob("*.py")), ROOT / "marketplace" / "page_cache.py"]
    paths.append(ROOT / "marketplace" / "tracking.py")
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in _imports(path) if m == "analytics" or m.startswith("analytics."))
        for path in paths
        if "migrations" not in path.parts
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}
