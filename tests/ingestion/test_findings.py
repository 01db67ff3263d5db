"""Each finding code, triggered by a generated file through the real (sandboxed) validators."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from ingestion import validators
from ingestion.formats import detect_format
from ingestion.validators import CODES, FileRejected, bundle, image, mesh
from tests import hostile, samples

# (code, filename, content, whether the file is rejected outright rather than reported)
CASES = [
    ("mesh.not_watertight", "a.stl", hostile.cube_missing_face()),
    ("mesh.not_manifold", "a.stl", hostile.cube_missing_face()),
    ("mesh.inconsistent_winding", "a.stl", hostile.cube_one_flipped_face()),
    ("mesh.inverted_normals", "a.stl", hostile.cube_inverted()),
    ("mesh.multiple_bodies", "a.stl", hostile.two_cubes()),
    ("mesh.units_suspect_inches", "a.stl", hostile.cube_at_inch_scale()),
    ("mesh.units_suspect_metres", "a.stl", hostile.cube_at_metre_scale()),
    ("mesh.units_suspect_large", "a.stl", hostile.cube_three_metres()),
    ("mesh.exceeds_common_beds", "a.stl", hostile.cube_300mm()),
    ("mesh.degenerate_faces", "a.stl", hostile.cube_with_degenerate_face()),
    ("mesh.duplicate_faces", "a.stl", hostile.cube_with_duplicate_face()),
    ("mesh.non_manifold_edges", "a.stl", hostile.fin_on_cube()),
    ("mesh.overhangs", "a.stl", hostile.upside_down_cone()),
    ("mesh.zero_area", "a.stl", hostile.all_degenerate()),
    ("mesh.non_finite", "a.stl", hostile.nan_vertex()),
    ("mesh.empty", "a.stl", hostile.empty_ascii_stl()),
    ("vector.open_paths", "a.svg", hostile.SVG_OPEN_PATH),
    ("vector.open_paths", "a.dxf", hostile.DXF_OPEN),
    ("vector.zero_length_segments", "a.svg", hostile.SVG_ZERO_LENGTH),
    ("vector.duplicate_segments", "a.svg", hostile.SVG_DUPLICATE),
    ("svg.no_physical_size", "a.svg", hostile.SVG_NO_SIZE),
    ("vector.empty", "a.svg", hostile.SVG_TEXT_ONLY),
    ("svg.script", "a.svg", hostile.SVG_SCRIPT),
    ("svg.event_handler", "a.svg", hostile.SVG_EVENT),
    ("svg.foreign_object", "a.svg", hostile.SVG_FOREIGN),
    ("svg.external_reference", "a.svg", hostile.SVG_EXTERNAL),
    ("svg.external_reference", "a.svg", hostile.SVG_STYLE_EXTERNAL),
    ("svg.external_reference", "a.svg", hostile.SVG_STYLE_ATTRIBUTE_EXTERNAL),
    ("svg.external_reference", "a.svg", hostile.SVG_PRESENTATION_EXTERNAL),
    ("svg.external_reference", "a.svg", hostile.SVG_STYLE_IMPORT),
    ("svg.external_reference", "a.svg", hostile.SVG_STYLE_ESCAPED_URL),
    ("svg.animated_link", "a.svg", hostile.SVG_SET_JAVASCRIPT_HREF),
    ("svg.animated_link", "a.svg", hostile.SVG_ANIMATE_JAVASCRIPT_XLINK),
    ("svg.animated_link", "a.svg", hostile.SVG_ANIMATE_STYLE),
    ("svg.unsafe_data_uri", "a.svg", hostile.SVG_DATA_HTML),
    ("svg.unsafe_data_uri", "a.svg", hostile.SVG_DATA_SVG_IMAGE),
    ("svg.unsafe_data_uri", "a.svg", hostile.SVG_STYLE_DATA_HTML),
    ("svg.xml_stylesheet", "a.svg", hostile.SVG_XML_STYLESHEET),
    ("svg.dtd_or_entities", "a.svg", hostile.SVG_DTD),
    ("svg.malformed", "a.svg", hostile.SVG_MALFORMED),
    ("svg.not_svg", "a.svg", hostile.SVG_NOT_SVG),
    ("dxf.empty", "a.dxf", hostile.DXF_EMPTY),
    ("dxf.unrecoverable", "a.dxf", hostile.DXF_GARBAGE),
    ("pdf.encrypted", "a.pdf", hostile.pdf_encrypted()),
    ("pdf.javascript", "a.pdf", hostile.PDF_JAVASCRIPT),
    ("pdf.launch_action", "a.pdf", hostile.PDF_LAUNCH),
    ("pdf.damaged", "a.pdf", hostile.PDF_NO_PAGES),
    ("pdf.damaged", "a.pdf", samples.broken_pdf()),
    ("pdf.mixed_page_sizes", "a.pdf", hostile.pdf_mixed_sizes()),
    ("pdf.polyglot", "a.pdf", hostile.pdf_zip_appended()),
    ("pdf.polyglot", "a.pdf", hostile.pdf_zip_inside()),
    ("image.too_many_pixels", "a.png", hostile.png_pixel_bomb()),
    ("image.damaged", "a.png", samples.broken_png()),
    ("image.no_dpi", "a.png", samples.png_tile()),
    ("image.low_resolution", "a.png", samples.png_tile()),
    ("image.cmyk", "a.jpg", hostile.jpeg_cmyk()),
    ("image.not_seamless", "a.png", hostile.gradient_png()),
    ("zip.compression_ratio", "a.zip", hostile.zip_bomb()),
    ("zip.path_traversal", "a.zip", hostile.zip_traversal()),
    ("zip.link", "a.zip", hostile.zip_symlink()),
    ("zip.encrypted", "a.zip", hostile.zip_encrypted_flag()),
    ("zip.too_many_members", "a.zip", hostile.zip_many_members()),
    ("zip.nested_too_deep", "a.zip", hostile.zip_nested(2)),
    ("zip.empty", "a.zip", hostile.zip_readme_only()),
    ("zip.member_skipped", "a.zip", hostile.zip_readme_only()),
    ("zip.member_invalid", "a.zip", hostile.zip_with_bad_member()),
    ("zip.damaged", "a.zip", b"PK\x03\x04" + b"\x00" * 40),
]
# Codes that need a condition a file alone cannot create here; each has its own test below.
COVERED_ELSEWHERE = {
    "file.parse_failed",
    "file.timeout",
    "file.too_complex",
    "file.crashed",
    "zip.member_too_large",
    "zip.too_large",
    "vector.render_failed",
}


def _format(name: str, content: bytes, tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / name
    path.write_bytes(content)
    extension = name.rsplit(".", 1)[1]
    return path, {"jpeg": "jpg"}.get(extension, extension)


def _codes(path: Path, fmt: str) -> list[str]:
    report, _ = validators.validate(path, fmt)
    return [finding.code for finding in report.findings]


@pytest.mark.parametrize(("code", "name", "content"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_finding_is_reported(code: str, name: str, content: bytes, tmp_path: Path) -> None:
    path, fmt = _format(name, content, tmp_path)
    codes = _codes(path, fmt)
    assert code in codes
    report, _ = validators.validate(path, fmt)
    finding = next(f for f in report.findings if f.code == code)
    assert finding.severity == CODES[code][0]
    assert finding.message  # every finding says what is wrong in words
    if finding.severity == "error":
        assert not report.ok


def test_every_code_has_a_test() -> None:
    assert {case[0] for case in CASES} | COVERED_ELSEWHERE == set(CODES)


def test_clean_files_have_no_warnings(tmp_path: Path) -> None:
    clean = {
        "a.stl": samples.stl_cube(),
        "b.svg": samples.svg_square(),
        "c.dxf": samples.dxf_rectangle(),
        "d.pdf": samples.pdf_two_pages(),
        "e.zip": hostile.zip_bundle(),
    }
    for name, content in clean.items():
        path, fmt = _format(name, content, tmp_path)
        report, previews = validators.validate(path, fmt)
        assert [f.code for f in report.findings if f.severity != "info"] == [], name
        assert previews, name


REFERENCE_CODES = {"svg.external_reference", "svg.animated_link", "svg.unsafe_data_uri", "svg.xml_stylesheet"}
HOSTILE_SVG_AND_PDF = [case for case in CASES if case[0] in REFERENCE_CODES | {"pdf.polyglot"}]


@pytest.mark.parametrize(
    ("code", "name", "content"), HOSTILE_SVG_AND_PDF, ids=[f"{c[0]}-{i}" for i, c in enumerate(HOSTILE_SVG_AND_PDF)]
)
def test_hostile_svg_and_pdf_are_refused_at_upload_with_their_exact_code(
    code: str, name: str, content: bytes, tmp_path: Path
) -> None:
    path, fmt = _format(name, content, tmp_path)
    assert detect_format(path) == fmt
    with pytest.raises(FileRejected) as caught:
        validators.quick_check(path, fmt)
    assert caught.value.code == code
    report, previews = validators.validate(path, fmt)
    assert [f.code for f in report.findings] == [code]
    assert not report.ok
    assert previews == []


def test_benign_svg_embeds_and_fragment_urls_pass(tmp_path: Path) -> None:
    path, fmt = _format("a.svg", hostile.SVG_BENIGN_EMBEDS, tmp_path)
    validators.quick_check(path, fmt)
    report, previews = validators.validate(path, fmt)
    assert report.ok
    assert [f.code for f in report.findings if f.severity != "info"] == []
    assert [label for label, _ in previews] == ["Drawing"]


def test_plain_pdf_is_not_a_polyglot(tmp_path: Path) -> None:
    path, fmt = _format("a.pdf", samples.pdf_two_pages(), tmp_path)
    validators.quick_check(path, fmt)
    assert "pdf.polyglot" not in _codes(path, fmt)


def test_zip_bundle_validates_each_member(tmp_path: Path) -> None:
    path, _ = _format("bundle.zip", hostile.zip_bundle(), tmp_path)
    report, previews = validators.validate(path, "zip")
    members = report.properties["members"]
    assert [(m["name"], m["format"]) for m in members] == [
        ("cube.stl", "stl"),
        ("template.svg", "svg"),
        ("README.txt", None),
    ]
    assert members[0]["properties"]["bounding_box_mm"] == [20.0, 20.0, 20.0]
    assert [label for label, _ in previews] == [
        "cube.stl: Front three-quarter view",
        "cube.stl: Back three-quarter view",
        "cube.stl: Top view",
        "template.svg: Drawing",
    ]


def test_zip_size_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = _format("a.zip", hostile.zip_bundle(), tmp_path)
    monkeypatch.setattr(bundle, "MAX_MEMBER_BYTES", 100)
    assert "zip.member_too_large" in _codes(path, "zip")
    monkeypatch.setattr(bundle, "MAX_MEMBER_BYTES", 10**9)
    monkeypatch.setattr(bundle, "MAX_TOTAL_BYTES", 500)
    assert "zip.too_large" in _codes(path, "zip")


def test_one_level_of_nesting_is_allowed(tmp_path: Path) -> None:
    path, _ = _format("a.zip", hostile.zip_nested(1), tmp_path)
    report, _ = validators.validate(path, "zip")
    assert report.ok
    assert report.properties["members"][0]["format"] == "zip"


def test_render_failure_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import resvg_py

    def refuse(**kwargs: object) -> bytes:
        raise ValueError("SVG has an invalid size")

    monkeypatch.setattr(resvg_py, "svg_to_bytes", refuse)
    path, _ = _format("a.svg", samples.svg_square(), tmp_path)
    assert _codes(path, "svg") == ["vector.render_failed"]


def test_unparseable_mesh_is_parse_failed(tmp_path: Path) -> None:
    path, _ = _format("a.ply", b"ply\nformat ascii 1.0\nelement vertex 3\nend_header\nnot numbers\n", tmp_path)
    assert _codes(path, "ply") in (["file.parse_failed"], ["mesh.empty"])


def test_timeout_becomes_a_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_PARSE_TIMEOUT_SECONDS = 1
    monkeypatch.setattr(mesh, "validate", lambda path, fmt: time.sleep(30))
    path, _ = _format("a.stl", samples.stl_cube(), tmp_path)
    started = time.monotonic()
    report, previews = validators.validate(path, "stl")
    assert time.monotonic() - started < 10
    assert [f.code for f in report.findings] == ["file.timeout"]
    assert previews == []


def test_memory_hog_becomes_a_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_PARSE_MEMORY_BYTES = 256 * 1024**2

    def hog(path: Path, fmt: str) -> None:
        blocks = [bytearray(64 * 1024**2) for _ in range(64)]
        raise AssertionError(len(blocks))

    monkeypatch.setattr(mesh, "validate", hog)
    path, _ = _format("a.stl", samples.stl_cube(), tmp_path)
    report, _ = validators.validate(path, "stl")
    assert [f.code for f in report.findings] == ["file.too_complex"]


def test_parser_crash_becomes_a_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mesh, "validate", lambda path, fmt: os.kill(os.getpid(), signal.SIGSEGV))
    path, _ = _format("a.stl", samples.stl_cube(), tmp_path)
    report, _ = validators.validate(path, "stl")
    assert [f.code for f in report.findings] == ["file.crashed"]
    assert "Export it again" in report.findings[0].message


def test_quick_check_rejects_with_codes(tmp_path: Path) -> None:
    path, _ = _format("a.svg", hostile.SVG_SCRIPT, tmp_path)
    with pytest.raises(FileRejected) as caught:
        validators.quick_check(path, "svg")
    assert caught.value.code == "svg.script"


def test_new_formats_are_detected(tmp_path: Path) -> None:
    for fmt, pil_name in (("webp", "WEBP"), ("tiff", "TIFF")):
        path = tmp_path / f"x.{fmt}"
        path.write_bytes(hostile.image_as(pil_name))
        assert detect_format(path) == fmt
        report, previews = validators.validate(path, fmt)
        assert report.ok
        assert len(previews) == 2
    zipped = tmp_path / "x.zip"
    zipped.write_bytes(hostile.zip_bundle())
    assert detect_format(zipped) == "zip"


def test_seamless_score_separates_tiles_from_gradients() -> None:
    import io

    from PIL import Image

    tile = image.seamless_score(Image.open(io.BytesIO(samples.png_tile(128))))
    ramp = image.seamless_score(Image.open(io.BytesIO(hostile.gradient_png())))
    assert tile == 1.0
    assert ramp < 0.1


def test_findings_doc_is_current() -> None:
    from django.conf import settings

    from ingestion.findings_doc import render

    assert (Path(settings.BASE_DIR) / "docs" / "findings.md").read_text() == render(), "run manage.py findings_doc"
