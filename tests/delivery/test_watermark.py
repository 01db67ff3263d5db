"""The forensic watermark carriers: invisible, exact payloads, and robust to the attacks that matter."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pytest
import trimesh
from PIL import Image

from delivery.watermark import image, mesh, payload, pdf, vector
from tests import samples

KEY = b"test-watermark-key"


def signs(entitlement_id: int) -> np.ndarray:
    return payload.codeword_signs(key=KEY, entitlement_id=entitlement_id)


def decoded(soft: np.ndarray, candidates: list[int] | None = None) -> payload.Decoded:
    return payload.decode(key=KEY, soft=soft, candidates=candidates)


# --- payload ----------------------------------------------------------------------------------------


def test_codeword_round_trips_and_corrects_two_damaged_bytes() -> None:
    soft = signs(123456)
    assert soft.shape == (80,)
    damaged = soft.copy()
    damaged[0:8] *= -1  # one whole byte
    damaged[41] *= -1  # one bit of another
    result = decoded(damaged)
    assert (result.entitlement_id, result.method, result.agreeing_bits) == (123456, "reed-solomon", 71)
    assert result.confidence > 0.999999


def test_erased_bits_are_recovered_as_erasures() -> None:
    soft = signs(77)
    soft[16:48] = 0  # four bytes lost entirely
    assert decoded(soft).entitlement_id == 77


def test_a_codeword_made_with_another_key_is_not_read_as_ours() -> None:
    foreign = payload.codeword_signs(key=b"someone else", entitlement_id=5)
    result = decoded(foreign)
    assert result.entitlement_id is None
    assert result.method == "none"


def test_candidates_name_the_closest_buyer_when_the_code_cannot_be_corrected() -> None:
    soft = signs(9)
    rng = np.random.default_rng(3)
    flipped = rng.choice(80, 12, replace=False)  # far beyond what Reed-Solomon corrects
    soft[flipped] *= -1
    result = decoded(soft, candidates=[3, 9, 11, 12])
    assert (result.entitlement_id, result.method, result.agreeing_bits) == (9, "candidates", 68)
    assert result.confidence > 0.9999


def test_noise_gives_no_confident_answer() -> None:
    rng = np.random.default_rng(0)
    result = decoded(rng.normal(size=80), candidates=[1, 2, 3])
    assert result.confidence < 0.99


def test_metadata_token_round_trips() -> None:
    token = payload.token_encode(key=KEY, entitlement_id=4321)
    assert re.fullmatch(r"TSR1-[A-Z2-7]{16}", token)
    soft = payload.token_soft(token)
    assert soft is not None
    assert decoded(soft).entitlement_id == 4321
    assert payload.token_soft("TSR1-!!!!") is None


# --- images -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photo() -> tuple[bytes, bytes, dict[str, Any]]:
    original = samples.photo_png()
    marked, metrics = image.embed(original, key=KEY, signs=signs(31337))
    return original, marked, metrics


def test_image_mark_is_invisible(photo: tuple[bytes, bytes, dict[str, Any]]) -> None:
    original, marked, metrics = photo
    a = np.asarray(Image.open(io.BytesIO(original)).convert("RGB"), dtype=np.float64)
    b = np.asarray(Image.open(io.BytesIO(marked)).convert("RGB"), dtype=np.float64)
    psnr = 10 * np.log10(255**2 / np.mean((a - b) ** 2))
    assert psnr >= 40.0
    assert metrics["psnr_db"] == pytest.approx(psnr, abs=0.01)
    assert Image.open(io.BytesIO(marked)).format == "PNG"


@pytest.mark.parametrize(
    ("attack", "scale", "quality"),
    [
        ("none", 1.0, None),
        ("jpeg75", 1.0, 75),
        ("half", 0.5, None),
        ("half+jpeg75", 0.5, 75),
        ("third+jpeg50", 0.33, 50),
    ],
)
def test_image_mark_survives(
    photo: tuple[bytes, bytes, dict[str, Any]], attack: str, scale: float, quality: Any
) -> None:
    original, marked, _ = photo
    suspect = samples.reencode_image(marked, scale=scale, quality=quality)
    result = decoded(image.soft_bits(suspect, key=KEY, original=original))
    assert (result.entitlement_id, result.method) == (31337, "reed-solomon")


def test_unmarked_image_carries_no_mark(photo: tuple[bytes, bytes, dict[str, Any]]) -> None:
    original, _marked, _ = photo
    suspect = samples.reencode_image(original, quality=75)
    result = decoded(image.soft_bits(suspect, key=KEY, original=original), candidates=[31337, 2, 3])
    assert result.confidence < 0.99


def test_jpeg_stays_jpeg_and_tiny_images_are_refused() -> None:
    marked, _ = image.embed(samples.reencode_image(samples.photo_png(), quality=90), key=KEY, signs=signs(8))
    assert Image.open(io.BytesIO(marked)).format == "JPEG"
    with pytest.raises(ValueError, match="too small"):
        image.embed(samples.png_tile(64), key=KEY, signs=signs(8))


# --- meshes -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blob() -> tuple[bytes, bytes, dict[str, Any]]:
    original = samples.blob_stl()
    marked, metrics = mesh.embed(original, file_format="stl", key=KEY, signs=signs(5150))
    return original, marked, metrics


def _load(data: bytes, file_type: str) -> Any:
    return trimesh.load(io.BytesIO(data), file_type=file_type)


def test_mesh_mark_moves_no_vertex_more_than_a_micrometre(blob: tuple[bytes, bytes, dict[str, Any]]) -> None:
    original, marked, metrics = blob
    before = np.frombuffer(original, dtype=mesh._STL_RECORD, offset=84)["vertices"].astype(np.float64)
    after = np.frombuffer(marked, dtype=mesh._STL_RECORD, offset=84)["vertices"].astype(np.float64)
    moved_um = np.sqrt(((after - before) ** 2).sum(axis=-1)).max() * 1000
    assert 0.3 < moved_um <= 1.0
    assert metrics["max_displacement_um"] == pytest.approx(moved_um, abs=1e-3)
    assert len(marked) == len(original)
    assert _load(marked, "stl").is_watertight


@pytest.mark.parametrize("target", ["stl", "obj", "ply", "3mf"])
def test_mesh_mark_survives_re_export(blob: tuple[bytes, bytes, dict[str, Any]], target: str) -> None:
    _original, marked, _ = blob
    suspect = samples._export(_load(marked, "stl"), target)
    result = decoded(mesh.soft_bits(suspect, file_format=target, key=KEY, original=None))
    assert (result.entitlement_id, result.method) == (5150, "reed-solomon")


@pytest.mark.parametrize("move", ["translate", "rotate", "rotate+scale"])
def test_mesh_mark_survives_moves_given_the_original(blob: tuple[bytes, bytes, dict[str, Any]], move: str) -> None:
    original, marked, _ = blob
    moved = _load(marked, "stl")
    moved.apply_translation([12.5, -3.25, 7.0])
    if "rotate" in move:
        moved.apply_transform(trimesh.transformations.rotation_matrix(0.8, [1, 2, 3]))
    if "scale" in move:
        moved.apply_scale(1.25)
    suspect = samples._export(moved, "obj")
    blind = decoded(mesh.soft_bits(suspect, file_format="obj", key=KEY, original=None), candidates=[5150, 1])
    assert blind.confidence < 0.99
    result = decoded(
        mesh.soft_bits(suspect, file_format="obj", key=KEY, original=(original, "stl")), candidates=[5150, 1]
    )
    assert result.entitlement_id == 5150
    assert result.confidence > 0.999999


@pytest.mark.parametrize("file_format", ["obj", "ply", "3mf"])
def test_each_mesh_format_is_marked_in_place(file_format: str) -> None:
    original = samples._export(samples.blob_mesh(), file_format)
    marked, metrics = mesh.embed(original, file_format=file_format, key=KEY, signs=signs(61))
    assert metrics["max_displacement_um"] <= 1.0
    assert decoded(mesh.soft_bits(marked, file_format=file_format, key=KEY, original=None)).entitlement_id == 61
    reloaded: Any = trimesh.load(io.BytesIO(marked), file_type=file_format, force="mesh")
    assert reloaded.is_watertight


# --- vectors and PDF --------------------------------------------------------------------------------


def test_svg_carries_metadata_and_coordinates_and_keeps_its_shape() -> None:
    original = samples.svg_gear()
    marked, metrics = vector.svg_embed(original, key=KEY, signs=signs(404), token="TSR1-X", notice="Licensed to Ana")
    assert metrics["max_displacement_units"] <= vector.STEP / 2
    token = payload.token_encode(key=KEY, entitlement_id=404)
    marked, _ = vector.svg_embed(original, key=KEY, signs=signs(404), token=token, notice="Licensed to Ana")
    assert b"Licensed to Ana" in marked
    from_metadata, from_coordinates = vector.svg_soft_bits(marked, key=KEY)
    assert from_metadata is not None
    assert decoded(from_metadata).entitlement_id == 404
    assert decoded(from_coordinates).entitlement_id == 404
    # Stripping the metadata leaves the coordinates' copy of the mark.
    stripped = re.sub(rb"<metadata.*?</metadata>", b"", marked)
    no_metadata, coordinates = vector.svg_soft_bits(stripped, key=KEY)
    assert no_metadata is None
    assert decoded(coordinates).entitlement_id == 404


def test_dxf_carries_metadata_and_coordinates() -> None:
    token = payload.token_encode(key=KEY, entitlement_id=808)
    marked, metrics = vector.dxf_embed(
        samples.dxf_gear(), key=KEY, signs=signs(808), token=token, notice="Licensed to Ana"
    )
    assert metrics["max_displacement_units"] <= vector.STEP / 2
    from_metadata, from_coordinates = vector.dxf_soft_bits(marked, key=KEY)
    assert from_metadata is not None
    assert decoded(from_metadata).entitlement_id == 808
    assert decoded(from_coordinates).entitlement_id == 808


def test_pdf_gets_a_visible_footer_and_an_invisible_token() -> None:
    token = payload.token_encode(key=KEY, entitlement_id=99)
    marked, metrics = pdf.embed(samples.pdf_two_pages(), token=token, notice="Licensed to Ben Buyer, order #5")
    assert metrics["pages"] == 2
    text = pdf.page_text(marked)
    assert text.count("Licensed to Ben Buyer, order #5") == 2
    soft = pdf.soft_bits(marked)
    assert soft is not None
    assert decoded(soft).entitlement_id == 99
