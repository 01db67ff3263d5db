"""The demand report page in a real browser: phone and desktop widths, light and dark, axe-core clean, nothing
scrolling sideways; the empty state and the table."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
from django.utils import timezone

from analytics.models import DemandDay, DemandSearcher, DemandTerm
from catalog.models import CreatorProfile
from tests.browser import assert_no_sideways_scroll, axe_violations, launch, needs_chromium, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, needs_chromium]

WIDTHS = (390, 1366)


def _gap(query: str, *, people: int, days_ago: int = 0, category: str = "") -> None:
    term = DemandTerm.objects.create(key=query)
    term.group_id = term.pk
    term.save(update_fields=["group"])
    day = timezone.now().astimezone(UTC).date() - timedelta(days=days_ago)
    DemandDay.objects.create(day=day, term=term, wording=query, category=category, searches=people, unmet=people)
    DemandSearcher.objects.bulk_create(
        [DemandSearcher(day=day, term=term, category=category, searcher=f"{query[:20]}-{n}") for n in range(people)]
    )


def test_the_demand_page_is_accessible_at_phone_and_desktop_widths(live_server: Any) -> None:
    creator = UserFactory.create(username="demand_creator")
    CreatorProfile.objects.create(user=creator, display_name="Demand creator")
    problems: list[str] = []
    with launch() as browser:
        page = browser.new_context(reduced_motion="reduce").new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=login]", "demand_creator")
        page.fill("input[name=password]", "secret-pass-123")
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")

        def check(name: str) -> None:
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                for width in WIDTHS:
                    page.set_viewport_size({"width": width, "height": 900})
                    problems.extend(f"{name} {scheme} {width}: {line}" for line in axe_violations(page))
                    assert_no_sideways_scroll(page)
                    screenshot(page, f"demand-{name}-{width}-{scheme}")

        page.goto(f"{live_server.url}/sell/insights/demand/")
        assert page.locator(".empty h2").inner_text() == "No gaps to show yet"
        check("empty")

        _gap("hovercraft kit", people=9)
        _gap("modular standing desk with cable tray and monitor arm", people=6, days_ago=20)
        _gap("lace collar", people=5, category="sewing-knitting")
        page.goto(f"{live_server.url}/sell/insights/demand/?days=30")
        assert page.locator("table.demand tbody th").all_inner_texts() == [
            "hovercraft kit",
            "modular standing desk with cable tray and monitor arm",
            "lace collar",
        ]
        check("table")
        page.select_option("select[name=category]", "sewing-knitting")
        page.click("form.demand-filters button[type=submit]")
        page.wait_for_url("**category=sewing-knitting**")
        assert page.locator("table.demand tbody th").all_inner_texts() == ["lace collar"]
    assert not problems, "\n".join(problems)
