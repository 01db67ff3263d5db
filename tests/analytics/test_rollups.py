"""Issue 13: rollups of the raw events (idempotent, incremental, retention) and what the selectors read of them."""

from __future__ import annotations

import pytest
from django.utils import timezone

from analytics.models import Event, Rollup
from analytics.rollups import rollup_refresh
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
