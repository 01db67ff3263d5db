"""The insights pages in a real browser, after real traffic: phone and desktop widths, light and dark, axe-core
clean, nothing scrolling sideways; the empty states of a buyer and of a new creator; a CSV download."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile

from tests import samples
from tests.analytics.test_dashboard import _traffic
from tests.browser import assert_no_sideways_scroll, axe_violations, launch, needs_chromium, screenshot
from tests.factories import PatternFactory, StaffFactory, UserFactory

pytestmark = [pytest.mark.e2e, needs_chromium]

WIDTHS = (390, 1366)


def test_the_insights_pages_with_and_without_data_are_accessible_at_phone_and_desktop_widths(
    live_server: Any,
) -> None:
    base = live_server.url
    buyer = UserFactory.create(username="dash_buyer")
    newcomer = PatternFactory.create(title="Brand new lamp").creator
    made = _traffic()
    pattern = made["pattern"]
    made["preview"].image.save("front.png", ContentFile(samples.png_tile(256)))
    staff = StaffFactory.create()
    problems: list[str] = []
    with launch() as browser:
        context = browser.new_context(reduced_motion="reduce", accept_downloads=True)
        page = context.new_page()

        def sign_in(username: str) -> None:
            context.clear_cookies()
            page.goto(f"{base}/accounts/login/")
            page.fill("input[name=login]", username)
            page.fill("input[name=password]", "secret-pass-123")
            page.click("main form button[type=submit]")
            page.wait_for_url(f"{base}/")

        def check(name: str) -> None:
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                for width in WIDTHS:
                    page.set_viewport_size({"width": width, "height": 900})
                    problems.extend(f"{name} {scheme} {width}: {line}" for line in axe_violations(page))
                    assert_no_sideways_scroll(page)
                    screenshot(page, f"insights-{name}-{width}-{scheme}")

        sign_in(buyer.username)
        page.goto(f"{base}/sell/insights/")
        assert page.locator(".empty h2").inner_text() == "Your insights will appear here"
        check("buyer-empty")

        sign_in(newcomer.username)
        page.goto(f"{base}/sell/insights/")
        assert page.locator(".empty h2").inner_text() == "No visits in the last 30 days"
        check("shop-empty")
        page.click("#table-patterns a")
        page.wait_for_url("**/sell/insights/patterns/*/?days=30")
        assert page.locator(".empty h2").inner_text() == "No visits in the last 30 days"
        check("pattern-empty")

        sign_in(pattern.creator.username)
        page.goto(f"{base}/sell/")
        page.click("text=Shop insights")
        page.wait_for_url(f"{base}/sell/insights/")
        page.click(".insights-period >> text=7 days")
        page.wait_for_url("**/sell/insights/?days=7")
        assert page.locator("[data-metric=views]").inner_text() == "6"
        assert page.locator("[data-metric=revenue]").inner_text() == "USD 12.00"
        assert page.locator(".insights-chart svg[role=img]").count() == 4
        assert page.locator("#table-previews img").evaluate("img => img.complete && img.naturalWidth > 0")
        check("shop")
        with page.expect_download() as download:
            page.click("a[href$='table=sources']")
        assert download.value.suggested_filename.startswith("tessera-shop-sources-7d-")
        page.click(f"#table-patterns a[href^='/sell/insights/patterns/{pattern.pk}/']")
        page.wait_for_url(f"**/sell/insights/patterns/{pattern.pk}/?days=7")
        assert page.locator("[data-step=purchases]").inner_text() == "1 (100.0% of the step before)"
        check("pattern")
        page.goto(f"{base}/sell/")
        check("sell-dashboard")

        sign_in(staff.username)
        page.goto(f"{base}/staff/insights/?days=7")
        assert page.locator("[data-metric=revenue]").inner_text() == "USD 12.00"
        check("staff")
    assert not problems, "\n".join(problems)
