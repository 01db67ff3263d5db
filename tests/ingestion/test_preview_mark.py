"""Public previews carry a visible watermark with the configured text."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from catalog.models import Preview
from ingestion.preview_mark import preview_watermark
from tests import samples
from tests.factories import UserFactory
from tests.helpers import create_and_process


def test_watermark_covers_the_image_and_labels_the_corner() -> None:
    plain = Image.new("RGB", (400, 300), (255, 255, 255))
    marked = np.asarray(preview_watermark(plain, "TESSERA PREVIEW"), dtype=np.int16)
    changed = np.any(marked != 255, axis=2)
    # The diagonal stamps reach every quarter of the image, not just the corner label.
    for rows in (slice(0, 150), slice(150, 300)):
        for cols in (slice(0, 200), slice(200, 400)):
            assert changed[rows, cols].mean() > 0.01
    assert marked[-5:, -5:].mean() < 200  # the dark label box
    assert preview_watermark(plain, "") is plain


@pytest.mark.django_db
def test_processed_previews_are_watermarked(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_PREVIEW_WATERMARK_TEXT = "SAMPLE ONLY"
    photo = samples.photo_png(400, 400)
    create_and_process(UserFactory.create(), "astronaut.png", photo, "Astronaut")
    preview = (
        Preview.objects.get(label__icontains="image")
        if Preview.objects.filter(label__icontains="image").exists()
        else Preview.objects.first()
    )
    assert preview is not None
    stored = np.asarray(Image.open(io.BytesIO(preview.image.read())).convert("RGB"), dtype=np.int16)
    clean = np.asarray(
        Image.open(io.BytesIO(photo)).convert("RGB").resize((preview.width, preview.height)), dtype=np.int16
    )
    assert stored.shape == clean.shape
    corner = np.abs(stored[-20:, -60:] - clean[-20:, -60:]).mean()
    assert corner > 20
