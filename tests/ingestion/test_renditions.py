"""Preview renditions for srcset: made at ingestion (a real Celery worker), sized and encoded as recorded,
private while the pattern is, public files once it is published; backfilled once by a command; used by pages."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from PIL import Image

from catalog import services as catalog_services
from catalog.models import Licence, Pattern, Preview, PreviewRendition, is_published_media
from ingestion import services as ingestion_services
from ingestion import submit
from ingestion.renditions import rendition_widths
from tests import samples
from tests.conftest import wait_for
from tests.factories import StaffFactory, UserFactory

PIL_FORMATS = {"webp": "WEBP", "png": "PNG", "jpeg": "JPEG"}


def _expected(preview: Preview, fallback: str) -> list[tuple[str, int, int]]:
    """(format, width, height) of every rendition a preview must have, narrowest first."""

    def height(width: int) -> int:
        return preview.height if width >= preview.width else round(preview.height * width / preview.width)

    wanted = [("webp", w, height(w)) for w in rendition_widths(preview.width)]
    fallback_width = min(640, preview.width)
    wanted.append((fallback, fallback_width, height(fallback_width)))
    return sorted(wanted, key=lambda r: (r[1], r[0]))


def _check_stored(rendition: PreviewRendition) -> None:
    with rendition.image.open("rb") as handle:
        data = handle.read()
    assert len(data) == rendition.size
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == PIL_FORMATS[rendition.format]
        assert image.size == (rendition.width, rendition.height)


def _public_file_url(rendition: PreviewRendition) -> str:
    return f"{settings.MEDIA_URL}{rendition.image.name}"


@pytest.mark.e2e
def test_ingestion_makes_webp_renditions_with_a_fallback_private_until_published(
    celery_worker_process: Any, client: Client
) -> None:
    creator = UserFactory.create()
    pattern = submit.pattern_create(
        creator=creator,
        title="Gear and photo",
        description="",
        price=500,
        currency="USD",
        licence=Licence.objects.get(code="personal"),
        uploads=[
            SimpleUploadedFile("gear.svg", samples.svg_gear()),
            SimpleUploadedFile("photo.png", samples.photo_png(1000, 750)),
        ],
    )
    wait_for(
        lambda: Pattern.objects.get(pk=pattern.pk).status == Pattern.Status.NEEDS_REVIEW,
        timeout=120,
        what="the worker to process the pattern",
    )
    previews = list(Preview.objects.filter(pattern=pattern).order_by("pattern_file_id", "position"))
    assert [p.pattern_file.format for p in previews] == ["svg", "png", "png"]  # a drawing; the image and its tiling
    for preview in previews:
        # A line drawing falls back to PNG (sharp edges), a photograph to JPEG.
        fallback = "png" if preview.pattern_file.format == "svg" else "jpeg"
        renditions = preview.ordered_renditions
        assert [(r.format, r.width, r.height) for r in renditions] == _expected(preview, fallback)
        assert preview.width == 800  # so the renditions are 320, 640 and 800 wide
        for rendition in renditions:
            _check_stored(rendition)
            assert not is_published_media(rendition.image.name)
            # Nobody but the creator (and staff) gets them: not at the checked URL, not as a plain media file.
            assert rendition.url == f"/previews/renditions/{rendition.pk}/"
            assert client.get(rendition.url).status_code == 404
            assert client.get(_public_file_url(rendition)).status_code == 404
        assert previews[0].ordered_renditions[0].size < 40_000  # a 320 px WebP card thumbnail
    client.force_login(creator)
    first = previews[1].ordered_renditions[0]
    response = client.get(first.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["Cache-Control"] == "private, max-age=300"
    client.logout()

    staff = StaffFactory.create()
    catalog_services.pattern_moderate(pattern=pattern, moderator=staff, action="approve")
    published = list(PreviewRendition.objects.filter(preview__pattern=pattern))
    assert len(published) == 12
    for rendition in published:
        assert is_published_media(rendition.image.name)
        assert rendition.url == _public_file_url(rendition)
        assert client.get(rendition.url).status_code == 200

    catalog_services.pattern_moderate(pattern=pattern, moderator=staff, action="reject", reason="Not original")
    for before, after in zip(published, PreviewRendition.objects.filter(preview__pattern=pattern), strict=True):
        assert client.get(before.url).status_code == 404
        assert not is_published_media(after.image.name)
        assert client.get(after.url).status_code == 404


def _processed(title: str, content: bytes, name: str = "drawing.svg") -> Pattern:
    pattern = submit.pattern_create(
        creator=UserFactory.create(),
        title=title,
        description="",
        price=300,
        currency="USD",
        licence=Licence.objects.get(code="personal"),
        uploads=[SimpleUploadedFile(name, content)],
    )
    for pattern_file in pattern.files.all():
        ingestion_services.pattern_file_process(pattern_file_id=pattern_file.pk)
    ingestion_services.pattern_finalize(pattern_id=pattern.pk)
    return pattern


@pytest.mark.django_db
def test_make_preview_renditions_backfills_old_previews_once(client: Client) -> None:
    published = _processed("Old published gear", samples.svg_gear())
    pending = _processed("Old pending square", samples.svg_square())
    PreviewRendition.objects.all().delete()  # as ingested before renditions existed
    Pattern.objects.filter(pk=published.pk).update(status="published")
    catalog_services.pattern_media_publish(pattern_id=published.pk)

    out = io.StringIO()
    call_command("make_preview_renditions", stdout=out)
    assert out.getvalue().strip() == "Made 8 preview renditions."
    for rendition in PreviewRendition.objects.filter(preview__pattern=published):
        _check_stored(rendition)
        assert is_published_media(rendition.image.name)
        assert client.get(rendition.url).status_code == 200
    for rendition in PreviewRendition.objects.filter(preview__pattern=pending):
        _check_stored(rendition)
        assert not is_published_media(rendition.image.name)
        assert client.get(rendition.url).status_code == 404
    names = sorted(PreviewRendition.objects.values_list("image", flat=True))

    call_command("make_preview_renditions", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "Made 0 preview renditions."
    assert sorted(PreviewRendition.objects.values_list("image", flat=True)) == names


@pytest.mark.django_db
def test_pattern_page_and_cards_serve_srcset_with_true_sizes(client: Client) -> None:
    pattern = _processed("Photo print", samples.photo_png(1000, 750), name="photo.png")
    Pattern.objects.filter(pk=pattern.pk).update(status="published")
    catalog_services.pattern_media_publish(pattern_id=pattern.pk)
    previews = list(Preview.objects.filter(pattern=pattern).order_by("position"))
    assert [(p.width, p.height) for p in previews] == [(800, 600), (800, 600)]

    page = client.get(pattern.get_absolute_url()).content.decode()
    gallery = re.findall(r'<li class="gallery-slide".*?</li>', page, flags=re.S)
    assert len(gallery) == 2
    for position, (slide, preview) in enumerate(zip(gallery, previews, strict=True)):
        webp = [r for r in preview.ordered_renditions if r.format == "webp"]
        fallback = next(r for r in preview.ordered_renditions if r.format == "jpeg")
        srcset = ", ".join(f"{r.url} {r.width}w" for r in webp)
        assert f'<source type="image/webp" srcset="{srcset}" sizes="(max-width: 860px) 100vw, 720px">' in slide
        assert f'<img src="{fallback.url}" srcset="{fallback.url} 640w"' in slide
        assert 'width="800" height="600"' in slide
        assert 'decoding="async"' in slide
        # Only the first picture is fetched at once (it is the page's largest paint); the rest when shown.
        expected = 'loading="eager" fetchpriority="high"' if position == 0 else 'loading="lazy"'
        assert expected in slide
        assert f'href="{preview.url}"' in slide  # zoom: the full-size preview
    assert 'alt="Image of Photo print"' in page
    assert 'alt="Tiled 2×2 of Photo print"' in page

    search = client.get("/search/").content.decode()
    card = re.search(r'<a class="card" href="' + re.escape(pattern.get_absolute_url()) + '"[^>]*>.*?</a>', search, re.S)
    assert card is not None
    webp = [r for r in previews[0].ordered_renditions if r.format == "webp" and r.width <= 640]
    assert f'srcset="{", ".join(f"{r.url} {r.width}w" for r in webp)}"' in card.group(0)
    assert 'width="800" height="600" alt="Preview of Photo print" loading="lazy" decoding="async"' in card.group(0)
    assert previews[0].image.url not in card.group(0)  # never the full-size preview in a card
