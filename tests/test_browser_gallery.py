"""The pattern page's gallery in headless Chromium: aspect-true pictures, buy button above the fold on a phone.

Also weighs an image and a PDF pattern page cold (bench/page_weight.py); the figures are printed (``-s``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from bench.page_weight import page_weight
from catalog import services as catalog_services
from catalog.models import Licence, Pattern, User
from ingestion import services as ingestion_services
from tests import samples
from tests.factories import UserFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
if not AXE.exists():
    AXE = Path("/work/tools/node_modules/axe-core/axe.min.js")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]


@pytest.fixture
def browser() -> Any:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def published_pattern(
    *, title: str, name: str, content: bytes, price: int = 1200, creator: User | None = None
) -> Pattern:
    """A pattern through validation and previews (no model work: not under test), approved and published."""
    pattern = catalog_services.pattern_create(
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
    assert heavy == []
