"""axe-core and layout of the pattern page's reviews section and the favourites and collection pages, at phone
and desktop widths, light and dark (``TESSERA_SCREENSHOT_DIR`` keeps screenshots)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from community import services
from tests.browser import assert_no_sideways_scroll, axe_violations, launch, needs_chromium, screenshot
from tests.factories import PatternFactory, UserFactory, paid_entitlement

pytestmark = [pytest.mark.e2e, needs_chromium]


def _photo() -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (120, 90), (60, 120, 200)).save(data, "JPEG")
    data.seek(0)
    return data


def test_reviews_favourites_and_collections_pages_pass_axe(live_server: Any) -> None:
    pattern = PatternFactory.create(title="Hexagon planter", with_file=False)
    buyer = UserFactory.create(username="c11y_buyer")
    other = UserFactory.create(username="c11y_other")
    for person, rating, text in ((buyer, 5, "Printed first time, lovely finish."), (other, 3, "Fine, a bit small.")):
        paid_entitlement(buyer=person, pattern=pattern)
        review = services.review_create(pattern=pattern, buyer=person, rating=rating, text=text)
    services.review_reply(review=review, user=pattern.creator, text="Thanks! Scale it to 120% for a bigger pot.")
    photo = _photo()
    services.review_photo_add(review=review, user=other, upload=photo, size=len(photo.getvalue()))
    services.favourite_set(user=buyer, pattern=pattern, on=True)
    collection = services.collection_create(owner=buyer, name="Balcony garden", is_public=True)
    services.collection_pattern_set(collection=collection, pattern=pattern, on=True)

    base = live_server.url
    problems: list[str] = []
    with launch() as browser:
        page = browser.new_context(reduced_motion="reduce").new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=login]", "c11y_buyer")
        page.fill("input[name=password]", "secret-pass-123")
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{base}/")
        for path, name in (
            (pattern.get_absolute_url(), "pattern-reviews"),
            ("/me/favourites/", "favourites"),
            (f"/collections/{collection.pk}/", "collection"),
        ):
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                for width in (390, 1366):
                    page.set_viewport_size({"width": width, "height": 900})
                    page.goto(f"{base}{path}")
                    assert page.locator("main").count() == 1
                    problems.extend(f"{name} {width} {scheme}: {line}" for line in axe_violations(page))
                    assert_no_sideways_scroll(page)
                    screenshot(page, f"community-{name}-{width}-{scheme}")
        page.goto(f"{base}{pattern.get_absolute_url()}")
        assert page.locator(".review").count() == 2
        assert "4.0 out of 5" in page.locator(".rating").first.inner_text()
    assert not problems, "\n".join(problems)
