"""Format-specific validators. Each exposes ``quick_check`` (during the upload request) and ``validate``."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from . import image, mesh, pdf, vector
from .base import FileRejected, Finding, Report

__all__ = ["FileRejected", "Finding", "Report", "quick_check", "validate"]


def quick_check(path: Path, fmt: str) -> None:
    """Raise :class:`FileRejected` when the file cannot be parsed at all."""
    if fmt in ("stl", "obj", "ply", "3mf"):
        mesh.quick_check(path, fmt)
    elif fmt in ("svg", "dxf"):
        vector.quick_check(path, fmt)
    elif fmt == "pdf":
        pdf.quick_check(path)
    else:
        image.quick_check(path)


def validate(path: Path, fmt: str) -> tuple[Report, list[tuple[str, Image.Image]]]:
    """Full validation: a report and the preview images to publish."""
    if fmt in ("stl", "obj", "ply", "3mf"):
        return mesh.validate(path, fmt)
    if fmt in ("svg", "dxf"):
        return vector.validate(path, fmt)
    if fmt == "pdf":
        return pdf.validate(path, fmt)
    return image.validate(path, fmt)
