"""Issue 12 (h/studio), in a browser: the shop's Follow button with JavaScript (a double click follows once), and
axe-core and layout of the shop, the pattern page as its creator (Reply) and a moderator (Hide), with Add to a
collection, the edit page's pictures and the delete page, at phone and desktop widths (``TESSERA_SCREENSHOT_DIR``
keeps screenshots)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile

from catalog.models import CreatorProfile, Preview
from community import services
from community.models import Follow
from tests import samples
from tests.browser import assert_no_sideways_scroll, axe_violations, launch, needs_chromium, screenshot
from tests.factories import PatternFactory, StaffFactory, UserFactory, add_file, paid_entitlement

pytestmark = [pytest.mark.e2e, needs_chromium]


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect  # imported where a browser runs (needs_chromium)

    return playwright_expect(locator)


def _sign_in(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", "secret-pass-123")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_studio_pages_follow_with_javascript_and_pass_axe(live_server: Any) -> None:
    creator = UserFactory.create(username="studio_maker")
    CreatorProfile.objects.create(user=creator, display_name="Studio Maker", bio="Planters and lamps.")
    pattern = PatternFactory.create(creator=creator, title="Hexagon planter", with_file=False)
    pattern_file = add_file(pattern, name="a.stl", content=samples.stl_cube(), file_format="stl")
    for position in range(3):
        preview = Preview(pattern=pattern, pattern_file=pattern_file, label=f"View {position}", position=position)
        preview.image.save(f"p{position}.png", ContentFile(samples.png_tile(64)))
    buyer = UserFactory.create(username="studio_buyer")
    paid_entitlement(buyer=buyer, pattern=pattern)
    services.review_create(pattern=pattern, buyer=buyer, rating=4, text="Printed first time, lovely finish.")
    services.collection_create(owner=buyer, name="Balcony garden", is_public=True)
    StaffFactory.create(username="studio_mod", is_superuser=True)

    base = live_server.url
    problems: list[str] = []
    with launch() as browser:
        page = browser.new_context(reduced_motion="reduce").new_page()

        def check(path: str, name: str) -> None:
            for width in (390, 1366):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(f"{base}{path}")
                problems.extend(f"{name} {width}: {line}" for line in axe_violations(page))
                assert_no_sideways_scroll(page)
                screenshot(page, f"studio-{name}-{width}")

        check("/creators/studio_maker/", "shop-anonymous")
        _sign_in(page, base, "studio_buyer")
        check("/creators/studio_maker/", "shop-signed-in")
        # With JavaScript: a double click follows once; the button and the count change without a page load.
        page.dblclick("[data-follow-form] button")
        expect(page.locator("[data-follow-count]")).to_have_text("1")
        expect(page.locator("[data-follow-form] button")).to_be_enabled()
        expect(page.locator("[data-follow-form] button")).to_have_attribute("aria-pressed", "true")
        assert page.locator("[data-follow-form] button").inner_text().startswith("Following")
        assert list(Follow.objects.values_list("follower__username", "creator__username")) == [
            ("studio_buyer", "studio_maker")
        ]
        page.click("[data-follow-form] button")
        expect(page.locator("[data-follow-count]")).to_have_text("0")
        assert Follow.objects.count() == 0
        check(pattern.get_absolute_url(), "pattern-buyer")
        _sign_in(page, base, "studio_maker")
        check(pattern.get_absolute_url(), "pattern-creator")
        check(f"/sell/patterns/{pattern.pk}/edit/", "edit")
        check(f"/sell/patterns/{pattern.pk}/delete/", "delete")
        _sign_in(page, base, "studio_mod")
        check(pattern.get_absolute_url(), "pattern-moderator")
    assert not problems, "\n".join(problems)
