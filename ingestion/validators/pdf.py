"""PDF patterns: encryption, JavaScript and launch actions, page count and paper sizes, first-page previews."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from .base import FileRejected, Report, fit_preview

PREVIEW_PAGES = 3
POINTS_PER_MM = 72 / 25.4
# Named sizes (portrait, mm) and the tolerance for matching them.
PAPER_SIZES = {"A4": (210, 297), "Letter": (215.9, 279.4), "A3": (297, 420), "A0": (841, 1189), "Legal": (215.9, 355.6)}
SIZE_TOLERANCE_MM = 3
_JAVASCRIPT = re.compile(rb"/(JavaScript|JS)\b")
_LAUNCH = re.compile(rb"/Launch\b")


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise FileRejected(
                "The PDF is password-protected. Upload a copy without a password so buyers can open it.",
                "pdf.encrypted",
            ) from exc
        raise FileRejected("The PDF could not be opened: it is damaged. Export it again.", "pdf.damaged") from exc


def _refuse_polyglot(path: Path) -> None:
    """A PDF that also opens as a ZIP is two files in one.

    ZIP readers look for the end-of-central-directory record at the end of the file and accept any bytes
    before the archive, so a ZIP appended to a PDF, or carried in a PDF stream near its end, opens in an
    unzip tool (or as a .docx, .jar, .apk) with content nobody checked. Opening the directory and finding
    at least one member rules out four stray "PK" bytes in compressed page data.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = len(archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return
    if members:
        raise FileRejected(
            f"The PDF is also a ZIP archive with {members} file(s) (a polyglot file), so other programs would "
            "open content that was never checked. Export the PDF again on its own, and upload any other files "
            "separately or as a ZIP bundle.",
            "pdf.polyglot",
        )


def quick_check(path: Path) -> None:
    _refuse_polyglot(path)
    document = _open(path)
    try:
        if len(document) == 0:
            raise FileRejected("The PDF has no pages.", "pdf.damaged")
    finally:
        document.close()


def paper_name(width_mm: float, height_mm: float) -> str:
    short, long = sorted((width_mm, height_mm))
    for name, (w, h) in PAPER_SIZES.items():
        if abs(short - w) <= SIZE_TOLERANCE_MM and abs(long - h) <= SIZE_TOLERANCE_MM:
            return name
    return "custom"


def _scan_actions(path: Path, report: Report) -> None:
    """Look for JavaScript and Launch actions in the raw bytes (they may sit in any object or stream)."""
    javascript = launch = False
    with open(path, "rb") as handle:
        tail = b""
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            window = tail + chunk
            javascript = javascript or bool(_JAVASCRIPT.search(window))
            launch = launch or bool(_LAUNCH.search(window))
            tail = chunk[-16:]
    if javascript:
        report.add("pdf.javascript", "The PDF contains JavaScript. Remove it; pattern PDFs never need scripts.")
    if launch:
        report.add("pdf.launch_action", "The PDF has a Launch action that can start programs. Remove it.")


def validate(path: Path, fmt: str) -> tuple[Report, list[tuple[str, Image.Image]]]:
    _refuse_polyglot(path)
    report = Report(format=fmt)
    _scan_actions(path, report)
    document = _open(path)
    previews: list[tuple[str, Image.Image]] = []
    try:
        page_count = len(document)
        report.properties["page_count"] = page_count
        if page_count == 0:
            report.add("pdf.damaged", "The PDF has no pages.")
            return report, []
        sizes = []
        for index in range(page_count):
            width, height = document.get_page_size(index)
            sizes.append((round(width / POINTS_PER_MM, 1), round(height / POINTS_PER_MM, 1)))
        names = [paper_name(w, h) for w, h in sizes]
        report.properties["page_sizes_mm"] = [list(size) for size in sizes[:50]]
        report.properties["paper_sizes"] = sorted(set(names))
        if len(set(sizes)) > 1:
            report.add(
                "pdf.mixed_page_sizes",
                f"The pages use {len(set(sizes))} different sizes ({', '.join(sorted(set(names)))}).",
            )
        for index in range(min(PREVIEW_PAGES, page_count)):
            page = document[index]
            scale = 800 / max(page.get_size())
            image = page.render(scale=scale).to_pil()
            previews.append((f"Page {index + 1}", fit_preview(image)))
            page.close()
    finally:
        document.close()
    return report, previews
