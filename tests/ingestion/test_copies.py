"""Copy detection at ingestion: identical files, transformed meshes and re-saved images reach moderators."""

from __future__ import annotations

import io

import numpy as np
import pytest
import trimesh
from PIL import Image

from catalog.models import CopyFlag, Pattern, User
from ingestion.shape import SHAPE_COPY_DISTANCE, shape_descriptor
from ingestion.shape_dataset import distinct_models, transformed_copy
from tests import samples
from tests.factories import StaffFactory, UserFactory
from tests.helpers import create_and_process

pytestmark = pytest.mark.django_db


def _publish(user: User, name: str, content: bytes, title: str) -> Pattern:
    result = create_and_process(user, name, content, title)
    assert result.status == "needs_review", result.status_reason
    return result


def _vase_bytes(file_type: str = "stl", transform: bool = False) -> bytes:
    mesh = distinct_models(7, seed=11)[6]  # a revolved vase
    if transform:
        mesh, _ = transformed_copy(mesh, np.random.default_rng(5))
    from tests.hostile import _export

    return _export(mesh, file_type)


def test_rotated_rescaled_reexported_mesh_is_flagged_with_evidence() -> None:
    author, copier = UserFactory.create(), UserFactory.create()
    original = _publish(author, "vase.stl", _vase_bytes(), "Original vase")
    copy = _publish(copier, "my-vase.obj", _vase_bytes("obj", transform=True), "Totally my vase")
    flag = CopyFlag.objects.get()
    assert (flag.pattern, flag.kind, flag.status) == (copy, "shape", "open")
    assert flag.matched_file == original.files.get()
    assert 0 <= flag.distance <= SHAPE_COPY_DISTANCE
    assert "Shape distance" in flag.evidence


def test_identical_file_is_flagged_exact_but_not_for_its_own_creator() -> None:
    author, copier = UserFactory.create(), UserFactory.create()
    _publish(author, "cube.stl", samples.stl_cube(), "Cube")
    _publish(author, "cube-again.stl", samples.stl_cube(), "Cube, second listing")
    assert CopyFlag.objects.count() == 0
    _publish(copier, "cube.stl", samples.stl_cube(), "Stolen cube")
    kinds = sorted(CopyFlag.objects.values_list("kind", flat=True))
    assert kinds == ["exact", "exact", "shape", "shape"]  # it matches both of the author's listings


def test_distinct_mesh_is_not_flagged() -> None:
    author, other = UserFactory.create(), UserFactory.create()
    _publish(author, "vase.stl", _vase_bytes(), "Vase")
    torus = trimesh.creation.torus(major_radius=30, minor_radius=8)
    _publish(other, "ring.stl", bytes(torus.export(file_type="stl")), "Ring")
    assert CopyFlag.objects.count() == 0


def test_resized_jpeg_copy_of_an_image_is_flagged() -> None:
    author, copier = UserFactory.create(), UserFactory.create()
    _publish(author, "tile.png", samples.png_tile(256), "Tile")
    smaller = Image.open(io.BytesIO(samples.png_tile(256))).resize((128, 128))
    buffer = io.BytesIO()
    smaller.save(buffer, format="JPEG", quality=75)
    _publish(copier, "tile.jpg", buffer.getvalue(), "Resaved tile")
    flag = CopyFlag.objects.get()
    assert flag.kind == "image"
    assert flag.distance <= 10


def test_admin_shows_side_by_side_and_confirming_rejects_the_copy(client) -> None:  # type: ignore[no-untyped-def]
    author, copier = UserFactory.create(), UserFactory.create()
    _publish(author, "vase.stl", _vase_bytes(), "Original vase")
    copy = _publish(copier, "my-vase.obj", _vase_bytes("obj", transform=True), "Totally my vase")
    client.force_login(StaffFactory.create())
    queue = client.get("/admin/catalog/reviewqueue/").content.decode()
    assert "⚠ 1 to check" in queue
    page = client.get("/admin/catalog/copyflag/").content.decode()
    assert "Original vase" in page
    assert "Totally my vase" in page
    assert page.count("<img") >= 2
    flag = CopyFlag.objects.get()
    client.post("/admin/catalog/copyflag/", {"action": "confirm_copies", "_selected_action": [flag.pk]})
    copy.refresh_from_db()
    assert copy.status == "rejected"
    assert copy.status_reason == "This pattern copies “Original vase” by another creator."


def test_copy_detection_rates_on_a_generated_set() -> None:
    """≥ 95% of transformed copies flagged, ≤ 1% of distinct models (smaller set than make bench-copies)."""
    models = distinct_models(200, seed=21)
    originals, distinct = models[:100], models[100:]
    rng = np.random.default_rng(22)
    original_vectors = np.stack([shape_descriptor(m.vertices[m.faces]) for m in originals])
    copies = [transformed_copy(m, rng)[0] for m in originals]
    copy_vectors = np.stack([shape_descriptor(m.vertices[m.faces]) for m in copies])
    distinct_vectors = np.stack([shape_descriptor(m.vertices[m.faces]) for m in distinct])
    copy_distances = np.linalg.norm(copy_vectors - original_vectors, axis=1)
    nearest_distinct = np.linalg.norm(distinct_vectors[:, None] - original_vectors[None], axis=2).min(axis=1)
    assert (copy_distances <= SHAPE_COPY_DISTANCE).mean() >= 0.95
    assert (nearest_distinct <= SHAPE_COPY_DISTANCE).mean() <= 0.01
