"""The pattern page's gallery in headless Chromium: aspect-true pictures, buy button above the fold on a phone.

Also weighs an image and a PDF pattern page cold (bench/page_weight.py); the figures are printed (``-s``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from bench.page_weight import page_weight
from catalog import services as catalog_services
from catalog.models import Licence, Pattern, User
from ingestion import services as ingestion_services
from ingestion import submit
from tests import samples
from tests.browser import axe_violations, launch, needs_chromium
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, needs_chromium]


@pytest.fixture
def browser() -> Iterator[Any]:
    with launch() as launched:
        yield launched


def published_pattern(
    *, title: str, name: str, content: bytes, price: int = 1200, creator: User | None = None
) -> Pattern:
    """A pattern through validation and previews (no model work: not under test), approved and published."""
    pattern = submit.pattern_create(
        creator=creator or UserFactory.create(),
        title=title,
        description="A pattern for the gallery tests.\nTwo lines of description.",
        price=price,
        currency="USD",
        licence=Licence.objects.get(code="personal") if price else Licence.objects.get(code="cc0"),
        uploads=[SimpleUploadedFile(name, content)],
    )
    for pattern_file in pattern.files.all():
        ingestion_services.pattern_file_process(pattern_file_id=pattern_file.pk)
    finalized = ingestion_services.pattern_finalize(pattern_id=pattern.pk)
    assert finalized is not None
    assert finalized.status == "needs_review", finalized.status_reason
    Pattern.objects.filter(pk=pattern.pk).update(status="published")
    catalog_services.pattern_media_publish(pattern_id=pattern.pk)
    return Pattern.objects.get(pk=pattern.pk)


def test_image_and_pdf_pattern_pages_cold_weight(live_server: Any, browser: Any) -> None:
    image = published_pattern(title="Astronaut print", name="astronaut.png", content=samples.photo_png(1600, 1200))
    pdf = published_pattern(title="Two page pattern", name="pages.pdf", content=samples.pdf_two_pages())
    heavy = []
    for pattern in (image, pdf):
        for width, height in ((1366, 900), (390, 844)):
            result = page_weight(
                f"{live_server.url}{pattern.get_absolute_url()}", width=width, height=height, browser=browser
            )
            sys.stdout.write("\n" + result.summary() + "\n")
            for kind, url, size in sorted(result.resources, key=lambda r: -r[2])[:8]:
                sys.stdout.write(f"  {size / 1024:8.1f} KB  {kind:10} {url}\n")
            images = result.by_type.get("image", 0)
            assert result.requests > 0
            if images > 400 * 1024:
                heavy.append(f"{pattern.title} at {width} px: {images} bytes of images")
            full_size = [url for kind, url, _ in result.resources if kind == "image" and url.endswith(".png")]
            if full_size:
                heavy.append(f"{pattern.title} at {width} px loads full-size previews: {full_size}")
    assert heavy == []


ASPECT = """() => [...document.querySelectorAll('.gallery-slide img')].map((img) => {
  const box = img.getBoundingClientRect();
  return {rendered: box.width / box.height, natural: img.naturalWidth / img.naturalHeight,
          attributes: img.width / img.height, complete: img.complete, src: img.currentSrc};
})"""


def test_pattern_gallery_on_a_phone_is_aspect_true_with_the_buy_button_above_the_fold(
    live_server: Any, browser: Any
) -> None:
    # Square, as in the audit (800x800 drawn at 350x800 on a phone): the box is wider than tall on a phone.
    pattern = published_pattern(title="Astronaut print", name="astronaut.png", content=samples.photo_png(1000, 1000))
    url = f"{live_server.url}{pattern.get_absolute_url()}"

    phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, bypass_csp=True)
    phone.goto(url)
    phone.wait_for_function("[...document.querySelectorAll('.gallery-slide img')].every((i) => i.complete)")
    pictures = phone.evaluate(ASPECT)
    assert len(pictures) == 2  # the image and its 2x2 tiling
    for picture in pictures:
        assert picture["src"].endswith(".webp"), picture  # a rendition, not the full-size PNG
        assert abs(picture["rendered"] / picture["natural"] - 1) < 0.01, picture
        assert abs(picture["attributes"] / picture["natural"] - 1) < 0.01, picture
    buy = phone.get_by_role("button", name="Add to cart").bounding_box()
    assert buy is not None
    assert buy["y"] + buy["height"] <= 844
    for selector in ("h1", ".pattern-price", ".pattern-licence"):
        box = phone.locator(selector).bounding_box()
        assert box["y"] + box["height"] <= 844, selector
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path="/tmp/gallery-390.png")
    phone.screenshot(path="/tmp/gallery-390-full.png", full_page=True)
    assert axe_violations(phone) == []

    # The second thumbnail shows the second picture; Enter enlarges it; Esc closes.
    phone.locator(".gallery-thumb").nth(1).click()
    phone.wait_for_function("document.querySelector('.gallery-track').scrollLeft > 100")
    assert phone.locator(".gallery-thumb").nth(1).get_attribute("aria-current") == "true"
    phone.locator(".gallery-zoom").nth(1).focus()
    phone.keyboard.press("Enter")
    lightbox = phone.locator("dialog.lightbox")
    assert lightbox.evaluate("(d) => d.open")
    phone.wait_for_function("document.querySelector('.lightbox-image').complete")
    full = phone.evaluate(
        "(() => { const i = document.querySelector('.lightbox-image'); const b = i.getBoundingClientRect();"
        " return {src: i.currentSrc, rendered: b.width / b.height, natural: i.naturalWidth / i.naturalHeight,"
        " width: i.naturalWidth}; })()"
    )
    assert full["src"].endswith(".png")  # the full-size preview
    assert full["width"] == 800
    assert abs(full["rendered"] / full["natural"] - 1) < 0.01
    phone.keyboard.press("Escape")
    assert not lightbox.evaluate("(d) => d.open")
    # Arrow keys step back through the pictures.
    phone.locator(".gallery-zoom").nth(1).focus()
    phone.keyboard.press("ArrowLeft")
    phone.wait_for_function("document.querySelector('.gallery-track').scrollLeft < 5")

    desktop = browser.new_page(viewport={"width": 1366, "height": 900}, bypass_csp=True)
    desktop.goto(url)
    desktop.wait_for_function("[...document.querySelectorAll('.gallery-slide img')].every((i) => i.complete)")
    for picture in desktop.evaluate(ASPECT):
        assert abs(picture["rendered"] / picture["natural"] - 1) < 0.01, picture
    buy_column = desktop.locator(".pattern-buy").bounding_box()
    gallery = desktop.locator(".pattern-media").bounding_box()
    assert buy_column["x"] > gallery["x"] + gallery["width"]  # two columns
    assert desktop.locator(".pattern-buy").evaluate("(e) => getComputedStyle(e).position") == "sticky"
    assert desktop.evaluate("document.documentElement.scrollWidth") <= 1366
    desktop.screenshot(path="/tmp/gallery-1366.png")
    assert axe_violations(desktop) == []
