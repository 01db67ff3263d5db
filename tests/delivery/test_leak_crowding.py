"""Re-uploads of a leaked model do not crowd the sold original out of the leak tracer's candidates.

A buyer's marked copy leaks; pirates upload it, and rotated, scaled, re-meshed and re-saved exports of it, as
a dozen other creators' patterns (two of them even sell). Copy detection flags them. Their shape descriptors
are as near to the suspect as the original's (several are nearer: the very file found online is among them),
so a tracer that reads only the few nearest files reads re-uploads and names nobody.
"""

from __future__ import annotations

import functools
import io
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh
from PIL import Image

from catalog.models import CopyFlag, Pattern, PatternFile
from delivery.leaks import leak_trace_record
from delivery.models import MarkedFile
from ingestion.services import copies_detect
from ingestion.shape import difference_hash, shape_descriptor
from ingestion.validators.mesh import load_triangles
from tests import samples
from tests.factories import PatternFactory, UserFactory, add_file, paid_entitlement

pytestmark = pytest.mark.django_db
logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=32)
def _descriptor(content: bytes, file_format: str) -> list[float]:
    """The descriptor ingestion stores for a mesh file (same loader, same function); identical files once."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"model.{file_format}"
        path.write_bytes(content)
        return list(shape_descriptor(load_triangles(path, file_format)).tolist())


def _mesh(data: bytes, file_format: str) -> Any:
    return trimesh.load(io.BytesIO(data), file_type=file_format, process=False, force="mesh")


def _export(mesh: Any, file_format: str) -> bytes:
    exported = mesh.export(file_type=file_format)
    return exported.encode() if isinstance(exported, str) else bytes(exported)


def _moved(data: bytes, *, angle: float, axis: list[float], scale: float, shift: list[float], to: str) -> bytes:
    """Rotated, uniformly scaled and moved: the watermark survives (the tracer registers it back)."""
    mesh = _mesh(data, "stl")
    mesh.apply_transform(trimesh.transformations.rotation_matrix(angle, axis))
    mesh.apply_scale(scale)
    mesh.apply_translation(shift)
    return _export(mesh, to)


def _remeshed(data: bytes, file_format: str) -> bytes:
    """Every triangle split in four: new vertices, the same surface."""
    mesh = _mesh(data, file_format)
    vertices, faces = trimesh.remesh.subdivide(mesh.vertices, mesh.faces)
    return _export(trimesh.Trimesh(vertices, faces, process=False), "obj")


def _publish(content: bytes, file_format: str) -> PatternFile:
    pattern = PatternFactory.create(with_file=False, title="Totally my own blob")
    pattern_file = add_file(pattern, name=f"blob.{file_format}", content=content, file_format=file_format)
    pattern_file.shape_descriptor = _descriptor(content, file_format)
    pattern_file.save()
    return pattern_file


@pytest.fixture
def crowded() -> dict[str, Any]:
    owner = UserFactory.create(username="maker")
    original_bytes = samples.blob_stl()
    pattern = PatternFactory.create(creator=owner, title="Lumpy blob", with_file=original_bytes)
    original = pattern.files.get()
    original.shape_descriptor = _descriptor(original_bytes, "stl")
    original.save()
    buyers = [UserFactory.create(username=f"buyer{i}") for i in range(3)]
    entitlements = [paid_entitlement(buyer=buyer, pattern=pattern, prepare=True) for buyer in buyers]
    leaked = bytes(MarkedFile.objects.get(entitlement=entitlements[1], pattern_file=original).file.read())
    # What was found online: the leaked copy turned, enlarged and moved, re-saved as OBJ.
    found = _moved(leaked, angle=1.1, axis=[0.3, 1, 0.2], scale=1.5, shift=[100, -40, 3], to="obj")
    reuploads = [
        (found, "obj"),
        (found, "obj"),
        (found, "obj"),
        (leaked, "stl"),
        (_export(_mesh(found, "obj"), "stl"), "stl"),
        (_export(_mesh(found, "obj"), "ply"), "ply"),
        (_moved(leaked, angle=0.4, axis=[1, 0, 0], scale=2.0, shift=[0, 0, 0], to="obj"), "obj"),
        (_moved(leaked, angle=2.5, axis=[0, 0, 1], scale=0.8, shift=[7, 7, 7], to="stl"), "stl"),
        (_moved(leaked, angle=1.9, axis=[1, 1, 0], scale=25.4, shift=[-5, 0, 2], to="ply"), "ply"),
        (_moved(leaked, angle=3.0, axis=[0, 1, 1], scale=1.0, shift=[50, 50, 0], to="obj"), "obj"),
        (_remeshed(leaked, "stl"), "obj"),
        (_remeshed(found, "obj"), "obj"),
    ]
    copies = [_publish(content, file_format) for content, file_format in reuploads]
    for copy in copies:
        copies_detect(pattern=copy.pattern, files=[copy])
    # Two pirated listings even sold: their files have delivered marked copies too.
    for copy in copies[:2]:
        paid_entitlement(buyer=UserFactory.create(), pattern=copy.pattern, prepare=True)
    return {
        "original": original,
        "original_bytes": original_bytes,
        "entitlements": entitlements,
        "found": found,
        "copies": copies,
    }


def test_a_leak_re_uploaded_a_dozen_times_still_names_the_buyer(crowded: dict[str, Any]) -> None:
    original, copies, found = crowded["original"], crowded["copies"], crowded["found"]
    # The dozen re-uploads are other creators' patterns, each flagged by copy detection as a copy (of the
    # original or of an earlier re-upload: copy detection keeps the 5 nearest); the original is flagged by none.
    assert Pattern.objects.exclude(creator__username="maker").count() == 12
    flagged = set(CopyFlag.objects.values_list("pattern_file_id", flat=True))
    assert flagged == {copy.pk for copy in copies}
    # The crowding: the suspect's descriptor is nearer to more re-uploads than the 3 files the tracer read before.
    suspect = np.asarray(_descriptor(found, "obj"))
    to_original = np.linalg.norm(suspect - np.asarray(original.shape_descriptor))
    assert sum(np.linalg.norm(suspect - np.asarray(c.shape_descriptor)) < to_original for c in copies) >= 3

    started = time.perf_counter()
    trace = leak_trace_record(data=found, file_name="free-blob.obj")
    logger.info("trace of a leak re-uploaded 12 times: %.3f s", time.perf_counter() - started)
    expected = crowded["entitlements"][1]
    assert trace.entitlement == expected
    assert trace.result["buyer"] == "buyer1"
    assert trace.result["order_id"] == expected.order_item.order_id
    assert trace.result["method"] in {"reed-solomon", "candidates"}
    assert trace.confidence >= 0.999999
    decisive = [row for row in trace.result["evidence"] if row.get("entitlement_id") == expected.pk]
    assert [row["original_file_id"] for row in decisive] == [original.pk]
    # Read as it is (no original), then against the original: no re-upload was read in its place.
    assert [row.get("original_file_id") for row in trace.result["evidence"] if "carrier" in row] == [
        None,
        original.pk,
        None,
    ]
    assert trace.result["evidence"][-1] == {
        "carrier": "search",
        "detail": "compared with 1 sold original file(s) in 1 round(s); a buyer was named",
    }

    # Nobody's copy traces nobody: the unmarked original (sold, so every round is searched) and an unsold file.
    for name, data in (("model.stl", crowded["original_bytes"]), ("other.stl", samples.stl_cube())):
        started = time.perf_counter()
        trace = leak_trace_record(data=data, file_name=name)
        logger.info("trace of %s (nobody's copy): %.3f s", name, time.perf_counter() - started)
        assert (trace.entitlement, trace.confidence, trace.result["method"]) == (None, 0.0, "none"), name
        assert "buyer" not in trace.result
        assert all(row.get("confidence", 0.0) < 0.999 for row in trace.result["evidence"]), name
        # Every sold mesh is read once: the original, and the two sold re-uploads (identical: read once).
        read = [row["original_file_id"] for row in trace.result["evidence"] if row.get("original_file_id")]
        assert sorted(read) == sorted([original.pk, copies[0].pk]), name
        assert trace.result["evidence"][-1] == {
            "carrier": "search",
            "detail": "compared with 2 sold original file(s) in 3 round(s)",
        }


def test_a_leaked_photo_re_uploaded_a_dozen_times_still_names_the_buyer(settings: Any) -> None:
    """Images need the original to read the mark: reading against a re-upload of the marked copy finds none."""
    pattern = PatternFactory.create(title="Astronaut", with_file=False)
    photo = add_file(pattern, name="photo.png", content=samples.photo_png(), file_format="png")
    photo.image_hash = difference_hash(Image.open(io.BytesIO(samples.photo_png()))).tolist()
    photo.save()
    entitlements = [paid_entitlement(buyer=UserFactory.create(), pattern=pattern, prepare=True) for _ in range(2)]
    leaked = bytes(MarkedFile.objects.get(entitlement=entitlements[0], pattern_file=photo).file.read())
    found = samples.reencode_image(leaked, scale=0.5, quality=75)
    for index in range(12):
        content = (found, leaked, samples.reencode_image(leaked, scale=0.8, quality=90))[index % 3]
        copy_format = "png" if content == leaked else "jpg"
        copy = add_file(
            PatternFactory.create(with_file=False),
            name=f"p{index}.{copy_format}",
            content=content,
            file_format=copy_format,
        )
        copy.image_hash = difference_hash(Image.open(io.BytesIO(content))).tolist()
        copy.save()
    trace = leak_trace_record(data=found, file_name="astronaut.jpg")
    assert trace.entitlement == entitlements[0]
    assert trace.result["method"] == "reed-solomon"
    assert [row.get("original_file_id") for row in trace.result["evidence"]] == [photo.pk, None]
    nobody = leak_trace_record(
        data=samples.reencode_image(samples.photo_png(), scale=0.5, quality=75), file_name="x.jpg"
    )
    assert (nobody.entitlement, nobody.confidence) == (None, 0.0)
    # The search is bounded: with no time left it reads nothing and says so.
    settings.TESSERA_LEAK_TIME_BUDGET_SECONDS = 0
    hurried = leak_trace_record(data=found, file_name="astronaut.jpg")
    assert (hurried.entitlement, hurried.confidence) == (None, 0.0)
    assert hurried.result["evidence"] == [
        {
            "carrier": "search",
            "detail": "compared with 0 sold original file(s) in 1 round(s); stopped: the time budget ran out",
        }
    ]
