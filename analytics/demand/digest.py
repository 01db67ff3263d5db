"""The weekly demand digest: per creator, the gaps in the categories they sell in, recorded as a domain event.

Analytics does not know who wants the digest (notifications owns the preference) and never calls notifications:
it records ``DemandDigestReady`` per creator with gaps, once per ISO week (``DemandDigest`` is unique per
(creator, week), written in the transaction of the event), and notifications tells those who opted in.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.demand.report import DemandRow, demand_report
from analytics.events import DemandDigestReady
from analytics.models import DemandDigest
from catalog.models import Pattern
from marketplace.events import record

logger = logging.getLogger(__name__)

DIGEST_DAYS = 7


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def demand_digests_record(*, today: date | None = None) -> int:
    """Record this week's digest of every creator with gaps in their categories (idempotent: a creator whose
    digest of this week exists is skipped); how many were recorded."""
    today = today or timezone.now().astimezone(UTC).date()
    week = iso_week(today)
    categories_of: dict[int, set[str]] = defaultdict(set)
    for creator_id, slug in (
        Pattern.objects.filter(status=Pattern.Status.PUBLISHED, category__isnull=False)
        .values_list("creator_id", "category__slug")
        .distinct()
    ):
        categories_of[creator_id].add(slug)
    reports: dict[str, list[DemandRow]] = {
        slug: demand_report(days=DIGEST_DAYS, category=slug, today=today)
        for slug in sorted(set().union(*categories_of.values()))
    }
    done = set(DemandDigest.objects.filter(week=week).values_list("creator_id", flat=True))
    recorded = 0
    for creator_id in sorted(categories_of):
        if creator_id in done:
            continue
        gaps: list[dict[str, Any]] = [
            {**row, "category": slug} for slug in sorted(categories_of[creator_id]) for row in reports[slug]
        ]
        gaps.sort(key=lambda gap: (-gap["searchers"], -gap["searches"], gap["query"]))
        gaps = gaps[: settings.TESSERA_DEMAND_DIGEST_GAPS]
        if not gaps:
            continue
        try:
            with transaction.atomic():
                DemandDigest.objects.create(creator_id=creator_id, week=week, gaps=len(gaps))
                record(
                    DemandDigestReady(
                        creator_id=creator_id, week=week, period_days=DIGEST_DAYS, gaps=gaps, actor_id=None
                    )
                )
        except IntegrityError:
            continue  # another run recorded it meanwhile
        recorded += 1
    logger.info("demand digests %s: %s recorded", week, recorded)
    return recorded
