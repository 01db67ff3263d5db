"""The search page in headless Chromium at phone width: no sideways scroll, a keyboard-operable filters drawer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from catalog.services import pattern_tags_add
from tests.browser import launch, needs_chromium
from tests.factories import PatternFactory

pytestmark = [pytest.mark.e2e, needs_chromium]


@pytest.fixture
def browser() -> Iterator[Any]:
    with launch() as chromium:
        yield chromium


@pytest.mark.django_db(transaction=True)
def test_search_filters_drawer_on_a_phone_and_beside_results_on_a_desktop(live_server, browser) -> None:  # type: ignore[no-untyped-def]
    for title in ["Flower pot", "Flower wall art with a long title that has to wrap on a phone", "Moon lamp"]:
        pattern_tags_add(pattern=PatternFactory.create(title=title), names=["flowers", "garden"])
    url = f"{live_server.url}/search/?q=flower&tag=flowers"

    from playwright.sync_api import expect

    phone = browser.new_page(viewport={"width": 390, "height": 800})
    phone.goto(url)
    assert phone.evaluate("document.documentElement.scrollWidth") == 390
    drawer = "[data-filters-drawer]"
    assert phone.evaluate(f"document.querySelector('{drawer}').open") is False
    phone.focus("summary.filters-toggle")
    phone.keyboard.press("Enter")
    # expect() polls from Playwright's isolated world; wait_for_function would need 'unsafe-eval' under our CSP.
    expect(phone.locator(drawer)).to_have_attribute("open", "")
    # Focus moves on the drawer's "toggle" event, which fires after the open attribute is set.
    expect(phone.locator("[data-filters-close]")).to_be_focused()
    assert phone.is_visible("text=Passes all checks")
    phone.keyboard.press("Escape")
    expect(phone.locator(drawer)).not_to_have_attribute("open", "")
    assert phone.evaluate("document.activeElement.tagName") == "SUMMARY"
    # A facet link keeps the query and the tag.
    phone.keyboard.press("Enter")
    phone.click("a.facet-option:has-text('STL')")
    phone.wait_for_url("**format=stl**")
    assert "q=flower" in phone.url
    assert "tag=flowers" in phone.url
    assert phone.locator(".chip").count() == 2
    phone.click(".chip:has-text('Tag')")
    phone.wait_for_url(lambda current: "tag=" not in current)
    assert "format=stl" in phone.url

    desktop = browser.new_page(viewport={"width": 1366, "height": 900})
    desktop.goto(url)
    assert desktop.evaluate(f"document.querySelector('{drawer}').open") is True
    assert desktop.is_hidden("summary.filters-toggle")
    assert desktop.evaluate("document.documentElement.scrollWidth") == 1366
