"""Search by image and "more like this", with the real EfficientNet-Lite0 weights."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from analytics.models import Event
from analytics.services import events_drain
from catalog.models import Pattern, Preview, User
from ingestion import services
from ingestion.shape_dataset import distinct_models
from tests import hostile, samples
from tests.factories import UserFactory
from tests.helpers import create_and_process

pytestmark = pytest.mark.django_db


def _publish(user: User, name: str, content: bytes, title: str) -> Pattern:
    pattern = create_and_process(user, name, content, title)
    Pattern.objects.filter(pk=pattern.pk).update(status="published")
    return Pattern.objects.get(pk=pattern.pk)


def _stripes() -> bytes:
    y, x = np.mgrid[0:256, 0:256]
    stripes = (((x + y) // 16) % 2 * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([stripes, stripes // 2, 255 - stripes]), "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def test_previews_get_unit_embeddings_once() -> None:
    pattern = _publish(UserFactory.create(), "tile.png", samples.png_tile(128), "Tile")
    vectors = [np.asarray(v) for v in Preview.objects.filter(pattern=pattern).values_list("embedding", flat=True)]
    assert len(vectors) == 2
    assert all(v.shape == (1280,) and abs(np.linalg.norm(v) - 1) < 1e-4 for v in vectors)
    assert services.pattern_embed_images(pattern_id=pattern.pk) == 0  # nothing left to do


def test_search_by_image_finds_the_pattern_from_a_resized_photo(api_client) -> None:  # type: ignore[no-untyped-def]
    creator = UserFactory.create()
    stripes = _publish(creator, "stripes.png", _stripes(), "Diagonal stripes")
    _publish(creator, "gradient.png", hostile.gradient_png(), "Grey ramp")
    _publish(creator, "cube.stl", samples.stl_cube(), "Cube")
    photo = Image.open(io.BytesIO(_stripes())).resize((180, 180))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=70)
    response = api_client.post(
        "/api/v1/search/image/", {"image": SimpleUploadedFile("q.jpg", buffer.getvalue())}, format="multipart"
    )
    assert response.status_code == 200
    results = response.json()
    # Only the stripes are a match: the grey ramp and the cube are below the relevance floor (issue 10).
    assert [result["pattern"]["id"] for result in results] == [stripes.pk]
    assert results[0]["similarity"] >= 0.45
    events_drain()  # as the beat task does every few seconds
    assert Event.objects.get(kind="search").query == "[image]"


def test_search_by_image_rejects_bad_input_cleanly(api_client, client) -> None:  # type: ignore[no-untyped-def]
    bad = api_client.post(
        "/api/v1/search/image/", {"image": SimpleUploadedFile("x.png", b"not an image")}, format="multipart"
    )
    assert bad.status_code == 400
    assert "image" in bad.json()
    bomb = api_client.post(
        "/api/v1/search/image/", {"image": SimpleUploadedFile("b.png", hostile.png_pixel_bomb())}, format="multipart"
    )
    assert bomb.status_code == 413
    page = client.post("/search/image/", {"image": SimpleUploadedFile("x.png", b"not an image")})
    assert page.status_code == 400
    assert "errorlist" in page.content.decode()


def test_more_like_this_uses_shape_for_meshes(api_client, client) -> None:  # type: ignore[no-untyped-def]
    creator = UserFactory.create()
    vases = [m for m in distinct_models(20, seed=11) if len(m.faces) > 1000][:2]
    first = _publish(creator, "vase1.stl", hostile._export(vases[0], "stl"), "Vase one")
    second = _publish(creator, "vase2.stl", hostile._export(vases[1], "stl"), "Vase two")
    _publish(creator, "tile.png", samples.png_tile(128), "Tile")
    hidden = _publish(creator, "vase3.stl", hostile._export(vases[0], "stl"), "Hidden vase")
    Pattern.objects.filter(pk=hidden.pk).update(status="needs_review")
    similar = api_client.get(f"/api/v1/patterns/{first.pk}/similar/").json()
    ids = [p["id"] for p in similar]
    assert first.pk not in ids
    assert hidden.pk not in ids
    assert ids[0] == second.pk
    html = client.get(first.get_absolute_url()).content.decode()
    assert "More like this" in html
    assert "Vase two" in html
