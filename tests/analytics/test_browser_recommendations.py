"""axe-core and layout of the recommendation rows on the pattern page, home (signed in) and the cart, at phone and
desktop widths, light and dark (``TESSERA_SCREENSHOT_DIR`` keeps screenshots)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from analytics.recommendations.services import recommendations_recompute
from payments.models import Order
from tests.browser import assert_no_sideways_scroll, axe_violations, launch, needs_chromium, screenshot
from tests.factories import PatternFactory, UserFactory, order_item_add, paid_entitlement

pytestmark = [pytest.mark.e2e, needs_chromium]

TITLES = {
    "A": "Wrap dress sewing pattern",
    "B": "Linen fabric repeat print",
    "C": "Embroidered collar motif",
    "D": "Button set for 3D printing",
    "P": "Hexagon planter",
}


def test_recommendation_rows_pass_axe_and_fit_a_phone(live_server: Any) -> None:
    patterns = {key: PatternFactory.create(title=title) for key, title in TITLES.items()}
    shopper = UserFactory.create()
    for keys, count in (("AB", 3), ("AC", 2), ("AP", 4), ("CD", 2), ("P", 6)):
        for _ in range(count):
            order = Order.objects.create(
                buyer=shopper, amount=500, currency="USD", status=Order.Status.PAID, paid_at=timezone.now()
            )
            for key in keys:
                order_item_add(order=order, pattern=patterns[key])
    recommendations_recompute()
    buyer = UserFactory.create(username="recs_buyer")
    paid_entitlement(buyer=buyer, pattern=patterns["A"])

    base = live_server.url
    problems: list[str] = []
    with launch() as browser:
        page = browser.new_context(reduced_motion="reduce").new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=login]", "recs_buyer")
        page.fill("input[name=password]", "secret-pass-123")
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}{patterns['C'].get_absolute_url()}")
        page.click(f"form[action$='/cart/add/{patterns['C'].pk}/'] button[type=submit]")
        page.wait_for_url(f"{base}/cart/")
        for path, name, section in (
            (patterns["A"].get_absolute_url(), "pattern", "bought-together"),
            ("/", "home", "for-you"),
            ("/cart/", "cart", "cart-suggestions"),
        ):
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                for width in (390, 1366):
                    page.set_viewport_size({"width": width, "height": 900})
                    page.goto(f"{base}{path}")
                    assert page.locator(f"[data-recs={section}] .card").count() >= 1, (name, section)
                    problems.extend(f"{name} {width} {scheme}: {line}" for line in axe_violations(page))
                    assert_no_sideways_scroll(page)
                    screenshot(page, f"recs-{name}-{width}-{scheme}")
    assert not problems, "\n".join(problems)
