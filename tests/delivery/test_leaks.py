"""The leak tracer: a re-saved or re-exported copy leads an admin to the order in one step."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pytest
import trimesh
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from catalog.models import PatternFile
from delivery.models import LeakTrace, MarkedFile
from ingestion.shape import difference_hash, shape_descriptor
from tests import samples
from tests.factories import PatternFactory, UserFactory, add_file, paid_entitlement

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue() -> dict[str, Any]:
    """A pattern with a photo, a mesh, a drawing and a PDF, bought by three buyers."""
    pattern = PatternFactory.create(title="Everything", with_file=samples.blob_stl())
    mesh_file = pattern.files.get()
    loaded: Any = trimesh.load(io.BytesIO(samples.blob_stl()), file_type="stl")
    mesh_file.shape_descriptor = shape_descriptor(np.asarray(loaded.triangles)).tolist()
    mesh_file.save()
    photo = add_file(pattern, name="photo.png", content=samples.photo_png(), file_format="png")
    photo.image_hash = difference_hash(Image.open(io.BytesIO(samples.photo_png()))).tolist()
    photo.save()
    add_file(pattern, name="gear.svg", content=samples.svg_gear(), file_format="svg")
    add_file(pattern, name="sewing.pdf", content=samples.pdf_two_pages(), file_format="pdf")
    buyers = [UserFactory.create() for _ in range(3)]
    entitlements = [paid_entitlement(buyer=b, pattern=pattern, prepare=True) for b in buyers]
    return {"pattern": pattern, "buyers": buyers, "entitlements": entitlements}


def _copy(entitlement: Any, name: str) -> bytes:
    marked = MarkedFile.objects.get(entitlement=entitlement, pattern_file__original_name=name)
    assert marked.status == "ready", marked.error
    return bytes(marked.file.read())


def _upload(client: Any, name: str, content: bytes) -> LeakTrace:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/admin/delivery/leaktrace/add/", {"suspect": SimpleUploadedFile(name, content)})
    assert response.status_code == 302, response.content[:500]
    trace = LeakTrace.objects.latest("created_at")
    assert response["Location"] == f"/admin/delivery/leaktrace/{trace.pk}/change/"
    return trace


def _resaved_photo(data: bytes) -> bytes:
    return samples.reencode_image(data, scale=0.5, quality=75)


def _moved_mesh(data: bytes) -> bytes:
    loaded: Any = trimesh.load(io.BytesIO(data), file_type="stl")
    loaded.apply_transform(trimesh.transformations.rotation_matrix(1.1, [0.3, 1, 0.2]))
    loaded.apply_translation([100, -40, 3])
    return str(loaded.export(file_type="obj")).encode()


@pytest.mark.parametrize(
    ("buyer", "name", "attack", "method"),
    [
        (1, "photo.png", _resaved_photo, {"reed-solomon"}),
        # A rotation costs a few bits; when Reed-Solomon cannot fix them, the pattern's buyers are compared.
        (2, "model.stl", _moved_mesh, {"reed-solomon", "candidates"}),
        (0, "gear.svg", lambda d: re.sub(rb"<metadata.*?</metadata>", b"", d), {"reed-solomon"}),
        (1, "sewing.pdf", lambda d: d, {"identical copy"}),
    ],
)
def test_admin_traces_a_leak_to_the_order_in_one_step(
    client: Any, staff: Any, catalogue: dict[str, Any], buyer: int, name: str, attack: Any, method: set[str]
) -> None:
    entitlement = catalogue["entitlements"][buyer]
    leaked = attack(_copy(entitlement, name))
    client.force_login(staff)
    trace = _upload(client, "found-online." + name.split(".")[-1], leaked)
    assert trace.entitlement == entitlement
    assert trace.result["method"] in method
    assert trace.confidence > 0.999999
    assert trace.result["order_id"] == entitlement.order_item.order_id
    assert trace.result["buyer"] == catalogue["buyers"][buyer].username
    page = client.get(f"/admin/delivery/leaktrace/{trace.pk}/change/").content.decode()
    assert f"#{entitlement.order_item.order_id}</a>" in page
    assert catalogue["buyers"][buyer].username in page


def test_a_pdf_re_saved_by_another_tool_is_still_traced(catalogue: dict[str, Any]) -> None:
    import pypdfium2 as pdfium

    entitlement = catalogue["entitlements"][2]
    source = pdfium.PdfDocument(_copy(entitlement, "sewing.pdf"))
    rebuilt = pdfium.PdfDocument.new()
    rebuilt.import_pages(source, [1])  # only the second page, re-written into a new file
    out = io.BytesIO()
    rebuilt.save(out)
    from delivery.leaks import leak_trace_record

    trace = leak_trace_record(data=out.getvalue(), file_name="page2.pdf")
    assert trace.entitlement == entitlement
    assert trace.result["method"] == "reed-solomon"


def test_an_unmarked_original_points_at_nobody(client: Any, staff: Any, catalogue: dict[str, Any]) -> None:
    client.force_login(staff)
    for name in ("model.stl", "photo.png"):
        original = PatternFile.objects.get(original_name=name).original.read()
        trace = _upload(client, name, original)
        assert trace.entitlement is None
        assert trace.confidence == 0.0
    page = client.get(f"/admin/delivery/leaktrace/{trace.pk}/change/").content.decode()
    assert "Not traced" in page


def test_garbage_is_reported_not_crashed_on(client: Any, staff: Any) -> None:
    client.force_login(staff)
    trace = _upload(client, "x.bin", b"\x00\x01 definitely not a pattern")
    assert (trace.entitlement, trace.file_format) == (None, "")
    truncated = _upload(client, "broken.stl", samples.truncated_stl())
    assert truncated.entitlement is None


def test_only_staff_can_trace(client: Any, catalogue: dict[str, Any]) -> None:
    client.force_login(catalogue["buyers"][0])
    response = client.post("/admin/delivery/leaktrace/add/", {})
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert LeakTrace.objects.count() == 0


def test_trace_leak_command(tmp_path: Any, catalogue: dict[str, Any], capsys: Any) -> None:
    entitlement = catalogue["entitlements"][0]
    leaked = tmp_path / "leak.jpg"
    leaked.write_bytes(_resaved_photo(_copy(entitlement, "photo.png")))
    call_command("trace_leak", str(leaked))
    output = capsys.readouterr().out
    assert f"Order #{entitlement.order_item.order_id}" in output
    assert catalogue["buyers"][0].username in output
    clean = tmp_path / "clean.png"
    clean.write_bytes(samples.photo_png())
    with pytest.raises(CommandError, match="not traced"):
        call_command("trace_leak", str(clean))
