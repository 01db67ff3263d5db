"""axe-core and layout checks of the pages reached through a flow: checkout, payment, receipt, orders, the weak and
typo searches, the image search's answer to a noise photo, the creator's status page and the moderation console.

Like tests/test_accessibility.py: one live server, one browser and one set of data, a single test that collects
every problem (axe critical/serious at 390 and 1366 px, no sideways scroll at 360-1366 px, dark-mode contrast).
Each signed-in role gets its own browser context with a session made by Django's test client (no login pages).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client
from PIL import Image

from catalog.models import Pattern, User
from tests import samples
from tests.browser import launch, needs_chromium
from tests.factories import PatternFactory, UserFactory, paid_entitlement
from tests.test_accessibility import _check, _published, check_current

pytestmark = [pytest.mark.e2e, needs_chromium]


def _noise_png() -> bytes:
    pixels = np.random.default_rng(7).integers(0, 256, (320, 320, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _moderator() -> User:
    staff = UserFactory.create(username="flows_moderator", is_staff=True)
    for codename in ("change_pattern", "view_pattern"):
        staff.user_permissions.add(Permission.objects.get(content_type__app_label="catalog", codename=codename))
    return User.objects.get(pk=staff.pk)


def _signed_in_page(browser: Any, base: str, user: User) -> Any:
    """A page in a new browser context that carries a session of ``user``."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(reduced_motion="reduce")
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base}])
    return context.new_page()


def test_flow_pages_have_no_serious_axe_violations_and_never_scroll_sideways(
    live_server: Any, localstripe: str
) -> None:
    base = live_server.url
    planter = _published(
        "Hexagon planter",
        category="3d-printing",
        name="planter.stl",
        content=samples.stl_cube(),
        file_format="stl",
        price=450,
    )
    tile = _published(
        "Seamless leaf tile",
        category="surface-patterns",
        name="leaf.png",
        content=samples.png_tile(256),
        file_format="png",
        price=900,
    )
    buyer = UserFactory.create(username="flows_buyer")
    order = paid_entitlement(buyer=buyer, pattern=tile).order_item.order
    creator = UserFactory.create(username="flows_creator")
    waiting = PatternFactory.create(
        title="Waiting cube", creator=creator, status=Pattern.Status.NEEDS_REVIEW, published_at=None
    )
    problems: list[str] = []
    with launch() as browser:
        page = browser.new_context(reduced_motion="reduce").new_page()
        # Finding: a typo, a word nothing matches, a noise photo.
        _check(page, base, "/search/?q=plantr", "search-typo", problems)
        assert "Hexagon planter" in page.inner_text("main")
        # On a phone the filters are a drawer opened by a visible Filters button.
        page.set_viewport_size({"width": 390, "height": 900})
        page.click(".filters-toggle", timeout=5_000)
        assert page.locator("#filters-panel").is_visible()
        check_current(page, "search-filters-open", problems)
        _check(page, base, "/search/?q=dragon", "search-weak", problems)
        assert "No exact matches" in page.inner_text("main")
        page.goto(f"{base}/search/image/")
        page.set_input_files("input[type=file]", {"name": "noise.png", "mimeType": "image/png", "buffer": _noise_png()})
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_load_state("load")
        assert "No close matches" in page.inner_text("main")
        check_current(page, "image-search-noise", problems)

        # Buying: checkout review, the payment page (localstripe's card widget left out), receipt, orders.
        page = _signed_in_page(browser, base, buyer)
        page.goto(f"{base}{planter.get_absolute_url()}")
        page.click("text=Add to cart")
        page.wait_for_url(f"{base}/cart/")
        check_current(page, "cart-with-message", problems)
        _check(page, base, "/checkout/", "checkout-review", problems)
        assert "Hexagon planter" in page.inner_text("main")
        page.click("text=Continue to payment")
        page.wait_for_url("**/checkout/*/")
        check_current(page, "payment", problems, exclude=("#card-element",))
        _check(page, base, f"/orders/{order.pk}/receipt/", "receipt", problems)
        _check(page, base, "/orders/", "orders", problems)

        # Creating: the status page after the creator adds tags.
        page = _signed_in_page(browser, base, creator)
        page.goto(f"{base}/sell/patterns/{waiting.pk}/")
        page.fill("#id_tags", "cube, desk toy")
        page.click("#add-tags button[type=submit]")
        page.wait_for_load_state("load")
        assert "desk toy" in page.inner_text("main")
        check_current(page, "pattern-status", problems)

        # Moderating: the console's item page, for staff with the moderation permission (not a superuser).
        page = _signed_in_page(browser, base, _moderator())
        _check(page, base, f"/admin/catalog/reviewqueue/console/{waiting.pk}/", "console-item", problems)
        assert "Waiting cube" in page.inner_text("#content")
    assert not problems, "\n".join(problems)
