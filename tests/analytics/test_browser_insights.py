"""Issue 13 in headless Chromium: a real browser gets the visitor cookie, its Referer becomes the source, the
gallery's pictures it looked at and the search results it was shown reach analytics through the beacon (seen.js)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from analytics.models import Event
from analytics.services import events_drain
from marketplace.tracking import VISITOR_COOKIE
from tests import samples
from tests.browser import launch, needs_chromium
from tests.conftest import wait_for
from tests.test_browser_gallery import published_pattern

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser() -> Iterator[Any]:
    with launch() as launched:
        yield launched


def test_a_browser_visit_records_its_source_visitor_previews_and_search_impressions(
    live_server: Any, browser: Any
) -> None:
    pattern = published_pattern(title="Astronaut print", name="astronaut.png", content=samples.photo_png(1000, 1000))
    previews = sorted(pattern.previews.values_list("pk", flat=True))
    assert len(previews) == 2
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}{pattern.get_absolute_url()}", referer="https://www.reddit.com/r/space/")
    page.locator(".gallery-thumb").nth(1).click()  # the second picture comes into view
    page.wait_for_timeout(1500)  # seen.js sends what was seen a second after the last picture
    page.goto(f"{live_server.url}/search/?q=astronaut")
    page.wait_for_timeout(500)
    visitor = next(c["value"] for c in page.context.cookies() if c["name"] == VISITOR_COOKIE)

    def arrived() -> bool:
        events_drain()
        return Event.objects.filter(kind="impression").exists()

    wait_for(arrived, timeout=20, what="the beacon's impressions")
    view = Event.objects.get(kind="page_view", pattern=pattern)
    assert (view.visitor, view.source) == (visitor, "reddit.com")
    seen = sorted(Event.objects.filter(kind="preview_view").values_list("pattern_id", "item", "visitor"))
    assert seen == [(pattern.pk, previews[0], visitor), (pattern.pk, previews[1], visitor)]
    shown = list(Event.objects.filter(kind="impression").values_list("pattern_id", "query", "visitor"))
    assert shown == [(pattern.pk, "astronaut", visitor)]
