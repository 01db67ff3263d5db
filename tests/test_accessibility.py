"""axe-core and layout checks of every kind of page a buyer, creator or visitor sees, at phone and desktop widths.

One live server, one browser and one set of data for all pages (a single test that collects every problem, so
the whole sweep takes a few seconds per page instead of a browser per page). Set ``TESSERA_SCREENSHOT_DIR`` to
also keep full-page screenshots of each page at each width, light and dark.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.core.files.base import ContentFile

from catalog.models import Category, CreatorProfile, Pattern, Preview
from catalog.services import pattern_refresh_search_vector
from tests import samples
from tests.browser import assert_no_sideways_scroll, axe_violations, launch, needs_chromium, screenshot
from tests.factories import PatternFactory, UserFactory, add_file, paid_entitlement

pytestmark = [pytest.mark.e2e, needs_chromium]

WIDTHS = (390, 1366)
PHONE_WIDTHS = (360, 430)
# What the dark colour scheme can break: contrast, and links told apart from text by colour alone.
DARK_RULES = ("color-contrast", "link-in-text-block")


def _published(title: str, *, category: str, name: str, content: bytes, file_format: str, price: int) -> Pattern:
    pattern = PatternFactory.create(
        title=title,
        description=f"{title}: a pattern for the accessibility sweep, with a description long enough to wrap.",
        category=Category.objects.get(slug=category),
        price=price,
        with_file=False,
    )
    pattern_file = add_file(pattern, name=name, content=content, file_format=file_format)
    preview = Preview(pattern=pattern, pattern_file=pattern_file, label="Preview", width=256, height=256)
    preview.image.save("preview.png", ContentFile(samples.png_tile(256)))
    pattern_refresh_search_vector(pattern=pattern)
    return pattern


def _listing_with_history(*, creator: Any) -> Pattern:
    """A creator's own pattern, rejected, edited and published: its status page shows a timeline."""
    from catalog.services import pattern_moderate, pattern_update

    moderator = UserFactory.create(username="a11y_moderator", is_staff=True, is_superuser=True)
    pattern = PatternFactory.create(creator=creator, status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    pattern_moderate(pattern=pattern, moderator=moderator, action="reject", reason="The previews are too dark.")
    pattern_update(pattern=pattern, actor=creator, data={"title": "Brighter planter", "price": 650})
    pattern_moderate(pattern=pattern, moderator=moderator, action="approve")
    return pattern


def _catalogue() -> dict[str, Pattern]:
    return {
        "mesh": _published(
            "Hexagon planter",
            category="3d-printing",
            name="planter.stl",
            content=samples.stl_cube(),
            file_format="stl",
            price=450,
        ),
        "vector": _published(
            "Gear coaster",
            category="laser-cnc",
            name="coaster.svg",
            content=samples.svg_gear(),
            file_format="svg",
            price=300,
        ),
        "pdf": _published(
            "Tote bag sewing pattern",
            category="sewing-knitting",
            name="tote.pdf",
            content=samples.pdf_two_pages(),
            file_format="pdf",
            price=0,
        ),
        "image": _published(
            "Seamless leaf tile",
            category="surface-patterns",
            name="leaf.png",
            content=samples.png_tile(256),
            file_format="png",
            price=900,
        ),
    }


def _shop(patterns: dict[str, Pattern]) -> str:
    """A creator's shop (issue 12): profile, bio, links and a sales band, with one published pattern."""
    creator = patterns["mesh"].creator
    CreatorProfile.objects.create(
        user=creator,
        display_name="Mira Makes",
        bio="Lamps, vases and planters.",
        links=["https://mira.example/portfolio"],
        sales_count=12,
    )
    return str(creator.username)


def _check(page: Any, base: str, path: str, name: str, problems: list[str]) -> None:
    """Open ``path`` and check it at each width: axe (critical, serious), no sideways scroll; dark: contrast."""
    page.goto(f"{base}{path}")
    page.wait_for_load_state("load")
    check_current(page, name, problems)


def check_current(page: Any, name: str, problems: list[str], *, exclude: tuple[str, ...] = ()) -> None:
    """Check the page as it is now (e.g. the answer to a form), as ``_check`` does; ``exclude``: third-party widgets."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        problems.extend(f"{name} @{width}: {line}" for line in axe_violations(page, exclude=exclude))
        try:
            assert_no_sideways_scroll(page)
        except AssertionError as error:
            problems.append(f"{name} @{width}: {error}")
        screenshot(page, f"{name}-{width}")
    for width in PHONE_WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        try:
            assert_no_sideways_scroll(page)
        except AssertionError as error:
            problems.append(f"{name} @{width}: {error}")
    # Dark mode: the same page with the dark tokens; colours are what changes, so contrast is what is checked.
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    problems.extend(f"{name} dark: {line}" for line in axe_violations(page, only=DARK_RULES, exclude=exclude))
    if os.environ.get("TESSERA_SCREENSHOT_DIR"):
        screenshot(page, f"{name}-{WIDTHS[0]}-dark")
        page.set_viewport_size({"width": WIDTHS[1], "height": 900})
        screenshot(page, f"{name}-{WIDTHS[1]}-dark")
    page.emulate_media(color_scheme="light")


def test_every_page_has_no_serious_axe_violations_and_never_scrolls_sideways(live_server: Any) -> None:
    base = live_server.url
    patterns = _catalogue()
    buyer = UserFactory.create(username="a11y_buyer")
    paid_entitlement(buyer=buyer, pattern=patterns["image"])
    listing = _listing_with_history(creator=buyer)
    problems: list[str] = []
    with launch() as browser:
        # Reduced motion: no colour transitions running while axe measures contrast after a scheme change.
        page = browser.new_context(reduced_motion="reduce").new_page()
        anonymous = [
            ("/", "home"),
            ("/search/?q=planter", "search"),
            ("/search/?q=zzqxjv", "search-empty"),
            ("/c/3d-printing/", "category"),
            *((patterns[family].get_absolute_url(), f"pattern-{family}") for family in patterns),
            ("/accounts/login/", "login"),
            ("/accounts/signup/", "signup"),
            ("/accounts/password/reset/", "password-reset"),
            ("/cart/", "cart-empty"),
            *((f"/{name}/", name) for name in ("terms", "privacy", "refunds", "licences", "about", "contact")),
            ("/no-such-page/", "not-found"),
            (f"/creators/{_shop(patterns)}/", "creator-shop"),
        ]
        for path, name in anonymous:
            _check(page, base, path, name, problems)

        # Phone header: the search field is folded behind an icon that opens it with the cursor in it.
        page.set_viewport_size({"width": 390, "height": 800})
        page.goto(f"{base}/")
        assert not page.locator("#site-q").is_visible()
        page.click(".search-toggle")
        assert page.evaluate("document.activeElement.id") == "site-q"
        assert page.locator(".search-toggle").get_attribute("aria-expanded") == "true"
        screenshot(page, "header-search-open-390")
        page.keyboard.type("planter")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/search/?q=planter")
        assert page.locator("#site-q").is_visible()

        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=login]", "a11y_buyer")
        page.fill("input[name=password]", "secret-pass-123")
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}{patterns['mesh'].get_absolute_url()}")
        page.click("text=Add to cart")
        page.wait_for_url(f"{base}/cart/")
        assert page.locator("#cart-count").inner_text() == "1"
        # The account menu opens from the header on a phone and signs out from there.
        page.set_viewport_size({"width": 360, "height": 800})
        page.click("header.site details.menu > summary")
        assert page.locator("header.site .menu-panel").is_visible()
        screenshot(page, "account-menu-360")
        assert_no_sideways_scroll(page)
        page.keyboard.press("Escape")
        signed_in = [
            ("/cart/", "cart"),
            ("/library/", "library"),
            ("/sell/", "sell-dashboard"),
            ("/sell/new/", "listing-form"),
            ("/accounts/email/", "account-email"),
            ("/accounts/password/change/", "account-password"),
            (f"/sell/patterns/{listing.pk}/", "pattern-status-history"),
            (f"/sell/patterns/{listing.pk}/edit/", "pattern-edit"),
            ("/sell/start/", "start-selling"),
            ("/sell/profile/", "shop-profile-edit"),
        ]
        for path, name in signed_in:
            _check(page, base, path, name, problems)
    assert not problems, "\n".join(problems)
