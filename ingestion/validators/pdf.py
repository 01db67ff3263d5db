"""PDF patterns: open with pdfium, page count and sizes, previews of the first pages."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from .base import FileRejected, Report, fit_preview

PREVIEW_PAGES = 3
POINTS_PER_MM = 72 / 25.4


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            raise FileRejected(
                "The PDF is password-protected. Upload a copy without a password so buyers can open it."
            ) from exc
        raise FileRejected("The PDF could not be opened: it is damaged. Export it again.") from exc


def quick_check(path: Path) -> None:
    document = _open(path)
    try:
        if len(document) == 0:
            raise FileRejected("The PDF has no pages.")
    finally:
        document.close()


def validate(path: Path, fmt: str) -> tuple[Report, list[tuple[str, Image.Image]]]:
    report = Report(format=fmt)
    document = _open(path)
    previews: list[tuple[str, Image.Image]] = []
    try:
        report.properties["page_count"] = len(document)
        sizes = []
        for index in range(len(document)):
            width, height = document.get_page_size(index)
            sizes.append([round(width / POINTS_PER_MM, 1), round(height / POINTS_PER_MM, 1)])
        report.properties["page_sizes_mm"] = sizes[:50]
        for index in range(min(PREVIEW_PAGES, len(document))):
            page = document[index]
            scale = 800 / max(page.get_size())
            image = page.render(scale=scale).to_pil()
            previews.append((f"Page {index + 1}", fit_preview(image)))
            page.close()
    finally:
        document.close()
    if report.properties["page_count"] == 0:
        report.add("pdf.no_pages", "error", "The PDF has no pages.")
    return report, previews
