"""Search by image with hostile input: sizes checked before decoding, bounded memory, capped concurrency."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from analytics.models import Event
from catalog.image_search import SLOTS_KEY, image_search_slot
from ingestion import validators
from ingestion.validators import FileRejected, image
from tests import hostile, samples

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: the peak resident size it reports is this call's alone.
_MEASURE = """
import json, resource, sys
from pathlib import Path
from typing import Any
from catalog.vision import QueryImageRejected, query_image_load
limits = json.loads(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    size, outcome = list(query_image_load(Path(sys.argv[1]), **limits).size), "decoded"
except QueryImageRejected as exc:
    size, outcome = None, 413 if exc.too_large else 400
growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps({"outcome": outcome, "size": size, "growth_mb": growth_mb}))
"""


def _measure(path: Path) -> dict[str, Any]:
    limits = {
        "max_pixels": django_settings.TESSERA_IMAGE_SEARCH_MAX_PIXELS,
        "max_side": django_settings.TESSERA_IMAGE_SEARCH_MAX_SIDE,
        "max_decoded_pixels": django_settings.TESSERA_IMAGE_SEARCH_MAX_DECODED_PIXELS,
    }
    finished = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _MEASURE, str(path), json.dumps(limits)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "marketplace.settings.test", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    return json.loads(finished.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture
def slots() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(django_settings.REDIS_CLIENT_URL)
    client.delete(SLOTS_KEY)
    yield client
    client.delete(SLOTS_KEY)


def _jpeg(width: int = 64, height: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 128).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_hostile_png_gets_413_before_any_decoding(api_client, client, slots) -> None:  # type: ignore[no-untyped-def]
    bomb = hostile.png_grey_bomb()
    assert len(bomb) < 300_000  # 261 KB declaring 16384×16384
    response = api_client.post(
        "/api/v1/search/image/", {"image": SimpleUploadedFile("b.png", bomb)}, format="multipart"
    )
    assert response.status_code == 413
    assert response.json() == {
        "image": [
            "The image is 16384×16384 pixels; image search takes at most 50,000,000 pixels and 20,000 pixels "
            "on a side. Scale it down and try again."
        ]
    }
    page = client.post("/search/image/", {"image": SimpleUploadedFile("b.png", bomb)})
    assert page.status_code == 413
    assert "image search takes at most 50,000,000 pixels" in page.content.decode()
    assert Event.objects.filter(kind="search").count() == 0
    assert slots.zcard(SLOTS_KEY) == 0  # the slot went back


def test_hostile_png_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(hostile.png_grey_bomb())
    measured = _measure(path)
    assert measured["outcome"] == 413
    # Decoding it would take 268 MB (grey) and 805 MB more as RGB; reading the header takes next to nothing.
    assert measured["growth_mb"] < 16, measured


def test_large_jpeg_decodes_scaled_down(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(_jpeg(8000, 6000))  # 48 MP: 48 MB as grey pixels at full size
    measured = _measure(path)
    assert measured["outcome"] == "decoded"
    assert measured["size"] == [500, 375]  # DCT-scaled to 1000×750 by draft, then halved by reduce
    assert measured["growth_mb"] < 16, measured


def test_too_many_pixels_to_decode_at_full_size_and_too_long_sides_are_413(api_client) -> None:  # type: ignore[no-untyped-def]
    header_only = hostile.png_pixel_bomb(5000, 4000)  # 20 MP PNG: would decode at full size
    wide = hostile.png_pixel_bomb(25_000, 10)
    for content, fragment in ((header_only, "searched at full size"), (wide, "25000×10 pixels")):
        response = api_client.post(
            "/api/v1/search/image/", {"image": SimpleUploadedFile("x.png", content)}, format="multipart"
        )
        assert response.status_code == 413
        assert fragment in response.json()["image"][0]


def test_not_an_image_is_400(api_client, client) -> None:  # type: ignore[no-untyped-def]
    not_ours = "The file is not a PNG, JPEG, WebP or TIFF image, or it is damaged."
    truncated = "The image data is damaged and does not decode. Export it again."
    for content, message in (
        (b"not an image", not_ours),
        (hostile.gif_pixel(), not_ours),
        (samples.broken_png(), truncated),
    ):
        response = api_client.post(
            "/api/v1/search/image/", {"image": SimpleUploadedFile("x.png", content)}, format="multipart"
        )
        assert response.status_code == 400
        assert response.json() == {"image": [message]}
    page = client.post("/search/image/", {})
    assert page.status_code == 400
    assert "Choose an image to search with." in page.content.decode()


def test_concurrent_searches_over_the_cap_get_503(api_client, client, settings, slots) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_IMAGE_SEARCH_CONCURRENCY = 1
    with image_search_slot():  # another search, possibly in another worker process, holds the only slot
        assert slots.zcard(SLOTS_KEY) == 1
        busy = api_client.post(
            "/api/v1/search/image/", {"image": SimpleUploadedFile("q.jpg", _jpeg())}, format="multipart"
        )
        assert busy.status_code == 503
        assert busy["Retry-After"] == "2"
        assert busy.json() == {"detail": "Image search is busy right now. Try again in 2 seconds."}
        page = client.post("/search/image/", {"image": SimpleUploadedFile("q.jpg", _jpeg())})
        assert page.status_code == 503
        assert page["Retry-After"] == "2"
        assert "Image search is busy right now" in page.content.decode()
    assert slots.zcard(SLOTS_KEY) == 0
    assert Event.objects.filter(kind="search").count() == 0
    freed = api_client.post(
        "/api/v1/search/image/", {"image": SimpleUploadedFile("b.png", hostile.png_grey_bomb())}, format="multipart"
    )
    assert freed.status_code == 413  # the slot is free again: the request got as far as the size check


def test_per_process_cap_gets_503_too(api_client, settings, slots) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_IMAGE_SEARCH_PER_PROCESS = 1
    with image_search_slot():
        busy = api_client.post(
            "/api/v1/search/image/", {"image": SimpleUploadedFile("q.jpg", _jpeg())}, format="multipart"
        )
        assert busy.status_code == 503
        assert slots.zcard(SLOTS_KEY) == 1  # refused locally, before taking a deployment-wide slot


def test_a_dead_workers_slot_expires(api_client, settings, slots) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_IMAGE_SEARCH_CONCURRENCY = 1
    seconds, _ = slots.time()
    slots.zadd(SLOTS_KEY, {"killed-worker": seconds - 1})  # its lease ran out a second ago
    response = api_client.post(
        "/api/v1/search/image/", {"image": SimpleUploadedFile("b.png", hostile.png_grey_bomb())}, format="multipart"
    )
    assert response.status_code == 413
    assert slots.zcard(SLOTS_KEY) == 0


def test_redis_outage_falls_back_to_the_per_process_cap(api_client, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_CLIENT_URL = f"unix://{tmp_path / 'no-redis.sock'}"
    settings.TESSERA_IMAGE_SEARCH_PER_PROCESS = 1
    response = api_client.post(
        "/api/v1/search/image/", {"image": SimpleUploadedFile("b.png", hostile.png_grey_bomb())}, format="multipart"
    )
    assert response.status_code == 413
    with image_search_slot():
        busy = api_client.post(
            "/api/v1/search/image/", {"image": SimpleUploadedFile("q.jpg", _jpeg())}, format="multipart"
        )
        assert busy.status_code == 503


def test_validator_applies_its_pixel_budget_per_call(tmp_path: Path) -> None:
    default = Image.MAX_IMAGE_PIXELS
    tile = tmp_path / "tile.png"
    tile.write_bytes(samples.png_tile(128))
    validators.quick_check_in_process(tile, "png")
    report, _ = validators.validate_in_process(tile, "png")
    assert report.ok
    # Above Pillow's process-wide bomb limit (2 × 89 MP) yet within the validator's own 268 MP budget.
    large = tmp_path / "large.png"
    large.write_bytes(hostile.png_pixel_bomb(15_000, 15_000))
    with image._open(large) as opened:
        assert opened.size == (15_000, 15_000)
    over = tmp_path / "over.png"
    over.write_bytes(hostile.png_pixel_bomb(16_385, 16_384))
    with pytest.raises(FileRejected) as caught:
        validators.quick_check_in_process(over, "png")
    assert caught.value.code == "image.too_many_pixels"
    assert Image.MAX_IMAGE_PIXELS == default == 89_478_485
