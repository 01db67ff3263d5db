"""Format-specific validators behind one interface.

``quick_check`` runs during the upload request; ``validate`` runs in the ingest worker. Both parse in a
forked child with a memory cap and a deadline (``ingestion.sandbox``), so a hostile file costs a finding,
never a hung or dead worker.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from PIL import Image

from . import bundle, image, mesh, pdf, vector
from .base import FileRejected, Finding, Report
from .codes import CODES

__all__ = ["CODES", "FileRejected", "Finding", "Report", "quick_check", "validate", "validate_in_process"]

MESH_FORMATS = ("stl", "obj", "ply", "3mf")
VECTOR_FORMATS = ("svg", "dxf")
IMAGE_FORMATS = ("png", "jpg", "webp", "tiff")


def quick_check_in_process(path: Path, fmt: str) -> None:
    if fmt in MESH_FORMATS:
        mesh.quick_check(path, fmt)
    elif fmt in VECTOR_FORMATS:
        vector.quick_check(path, fmt)
    elif fmt == "pdf":
        pdf.quick_check(path)
    elif fmt == "zip":
        bundle.quick_check(path)
    else:
        image.quick_check(path)


def validate_in_process(path: Path, fmt: str) -> tuple[Report, list[tuple[str, Image.Image]]]:
    if fmt in MESH_FORMATS:
        return mesh.validate(path, fmt)
    if fmt in VECTOR_FORMATS:
        return vector.validate(path, fmt)
    if fmt == "pdf":
        return pdf.validate(path, fmt)
    if fmt == "zip":
        return bundle.validate(path, fmt)
    return image.validate(path, fmt)


def _isolated_failure_report(fmt: str, code: str, message: str) -> Report:
    report = Report(format=fmt)
    advice = {
        "timeout": " Simplify or split the file and upload it again.",
        "too_complex": " Simplify or split the file and upload it again.",
        "crashed": " Export it again from your design program.",
    }[code]
    report.add(f"file.{code}", message + advice)
    return report


def quick_check(path: Path, fmt: str) -> None:
    """Raise :class:`FileRejected` when the file cannot be parsed at all (isolated, with a short deadline)."""
    from ingestion.sandbox import IsolatedFailure, run_isolated

    try:
        run_isolated(
            lambda: quick_check_in_process(path, fmt),
            timeout=settings.TESSERA_QUICK_CHECK_TIMEOUT_SECONDS,
            memory_bytes=settings.TESSERA_PARSE_MEMORY_BYTES,
        )
    except IsolatedFailure as failure:
        report = _isolated_failure_report(fmt, failure.code, str(failure))
        raise FileRejected(report.findings[0].message, report.findings[0].code) from failure


def validate(path: Path, fmt: str) -> tuple[Report, list[tuple[str, Image.Image]]]:
    """Full validation (isolated): a report and the preview images to publish. Never raises for bad content."""
    from ingestion.sandbox import IsolatedFailure, run_isolated

    try:
        outcome = run_isolated(
            lambda: validate_in_process(path, fmt),
            timeout=settings.TESSERA_PARSE_TIMEOUT_SECONDS,
            memory_bytes=settings.TESSERA_PARSE_MEMORY_BYTES,
        )
    except IsolatedFailure as failure:
        return _isolated_failure_report(fmt, failure.code, str(failure)), []
    except FileRejected as exc:
        report = Report(format=fmt)
        report.add(exc.code if exc.code in CODES else "file.parse_failed", str(exc))
        return report, []
    report = Report.from_dict(outcome["report"])
    report.artifacts = outcome["artifact_bytes"]
    return report, outcome["images"]
