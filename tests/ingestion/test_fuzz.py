"""Property-based tests: random and mutated bytes through every parser always give a report, quickly."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion import validators
from ingestion.formats import UnsupportedFormat, detect_format
from ingestion.validators import CODES
from tests import hostile, samples

SEEDS = {**samples.one_per_format(), "zip": hostile.zip_bundle()}

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[position] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=32))
        elif data:
            del data[position : position + draw(st.integers(1, 64))]
    return bytes(data)


def _check(fmt: str, content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz.{fmt}"
        path.write_bytes(content)
        started = time.monotonic()
        report, previews = validators.validate(path, fmt)
        assert time.monotonic() - started < 60
        assert report.format == fmt
        assert all(finding.code in CODES for finding in report.findings)
        assert all(finding.message for finding in report.findings)
        if not report.ok:
            assert previews == []
        # Detection never raises anything but UnsupportedFormat.
        try:
            detect_format(path)
        except UnsupportedFormat:
            pass


def _test_for(fmt: str):  # type: ignore[no-untyped-def]
    @FUZZ
    @given(data=st.one_of(st.binary(max_size=2048), mutated(SEEDS[fmt])))
    def test(data: bytes) -> None:
        _check(fmt, data)

    test.__name__ = f"test_fuzz_{fmt}"
    return test


test_fuzz_stl = _test_for("stl")
test_fuzz_obj = _test_for("obj")
test_fuzz_ply = _test_for("ply")
test_fuzz_3mf = _test_for("3mf")
test_fuzz_svg = _test_for("svg")
test_fuzz_dxf = _test_for("dxf")
test_fuzz_pdf = _test_for("pdf")
test_fuzz_png = _test_for("png")
test_fuzz_jpg = _test_for("jpg")
test_fuzz_zip = _test_for("zip")
