"""Issue 13: rollups of the raw events (idempotent, incremental, retention) and what the selectors read of them."""

from __future__ import annotations

from datetime import timedelta

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from analytics.models import Event, Rollup
from analytics.rollups import _LOCK_KEY, events_prune, rollup_refresh
from analytics.selectors import pattern_insights, shop_insights
from tests.factories import PatternFactory

pytestmark = pytest.mark.django_db


def _view(pattern, visitor, *, source="direct", query="", at=None, user=None, **extra):  # type: ignore[no-untyped-def]
    return Event.objects.create(
        kind="page_view",
        pattern=pattern,
        visitor=visitor,
        source=source,
        query=query,
        user=user,
        created_at=at or timezone.now(),
        **extra,
    )


def test_rollup_counts_views_visitors_and_running_twice_changes_nothing() -> None:
    pattern = PatternFactory.create()
    _view(pattern, "a" * 32, source="reddit.com")
    _view(pattern, "a" * 32, source="reddit.com")
    _view(pattern, "b" * 32, source="search", query="modular desk")
    _view(pattern, "")
    _view(pattern, "")
    first = rollup_refresh()
    assert first["skipped"] is False
    snapshot = sorted(Rollup.objects.values_list("grain", "pattern_id", "dimension", "key", "views", "visitors"))
    again = rollup_refresh()
    assert (
        sorted(Rollup.objects.values_list("grain", "pattern_id", "dimension", "key", "views", "visitors")) == snapshot
    )
    assert again["events_read"] == first["events_read"] == 5  # today is read again, nothing added twice
    insights = pattern_insights(pattern_id=pattern.pk, days=7)
    assert (insights["totals"]["views"], insights["totals"]["visitors"]) == (5, 4)
    assert {(s["source"], s["visitors"]) for s in insights["sources"]} == {
        ("reddit.com", 1),
        ("search", 1),
        ("direct", 2),
    }
    assert [(t["query"], t["visitors"]) for t in insights["search_terms"]] == [("modular desk", 1)]
    shop = shop_insights(creator_id=pattern.creator_id, days=7)
    assert shop["totals"]["visitors"] == 4
    assert [p["pattern_id"] for p in shop["patterns"]] == [pattern.pk]


def test_raw_events_past_the_retention_are_deleted_and_their_rollups_stay() -> None:
    pattern = PatternFactory.create()
    now = timezone.now()
    old_day = now - timedelta(days=settings.TESSERA_ANALYTICS_RAW_RETENTION_DAYS - 1)
    _view(pattern, "a" * 32, at=old_day)
    _view(pattern, "b" * 32, at=now)
    rollup_refresh(now=now)
    assert pattern_insights(pattern_id=pattern.pk, days=365, now=now)["totals"]["views"] == 2
    later = now + timedelta(days=2)
    assert events_prune(now=later) == 1
    assert list(Event.objects.values_list("visitor", flat=True)) == ["b" * 32]
    result = rollup_refresh(now=later)
    assert all(day > old_day for day in result["days"])  # the pruned day is never recomputed
    assert pattern_insights(pattern_id=pattern.pk, days=365, now=later)["totals"]["views"] == 2
    assert events_prune(now=later) == 0


@pytest.mark.django_db(transaction=True)
def test_a_rollup_while_another_holds_the_lock_returns_at_once_and_changes_nothing() -> None:
    pattern = PatternFactory.create()
    _view(pattern, "a" * 32)
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
            assert rollup_refresh()["skipped"] is True
            assert not Rollup.objects.exists()
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
    finally:
        other.close()
    assert rollup_refresh()["skipped"] is False
    assert Rollup.objects.get(grain="day", pattern_id=pattern.pk, dimension="").views == 1
