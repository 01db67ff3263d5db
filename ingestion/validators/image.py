"""Raster images (PNG, JPEG, WebP, TIFF): full decode under a pixel budget, print size, colour mode,
and a seamless-tile score that compares opposite edges, with a 2×2 tiled preview."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageFile

from catalog import vision

from .base import FileRejected, Report, fit_preview

MAX_PIXELS = 16_384 * 16_384
PRINT_DPI = 300
MIN_PRINT_MM = 50
SEAMLESS_THRESHOLD = 0.5


def open_within(source: Path | IO[bytes], *, max_pixels: int) -> ImageFile.ImageFile:
    """``catalog.vision.open_within`` (the bounded header read that image search shares), its refusals as
    ``FileRejected`` with their finding codes."""
    try:
        return vision.open_within(source, max_pixels=max_pixels)
    except vision.ImageUnreadable as exc:
        raise FileRejected(str(exc), exc.code) from exc


def _open(path: Path) -> ImageFile.ImageFile:
    return open_within(path, max_pixels=MAX_PIXELS)


def quick_check(path: Path) -> None:
    with _open(path) as image:
        try:
            image.verify()
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for damaged data
            raise FileRejected(
                "The image is damaged: its data does not decode. Export it again.", "image.damaged"
            ) from exc


def seamless_score(image: Image.Image) -> float:
    """1.0 when the wrap-around seams differ about as much as neighbouring pixels inside the image, lower otherwise."""
    small = image.convert("RGB")
    small.thumbnail((512, 512))
    pixels = np.asarray(small, dtype=np.float32)
    if pixels.shape[0] < 4 or pixels.shape[1] < 4:
        return 0.0
    scores = []
    for axis in (0, 1):
        interior = np.abs(np.diff(pixels, axis=axis)).mean()
        seam = np.abs(np.take(pixels, 0, axis=axis) - np.take(pixels, -1, axis=axis)).mean()
        # A seamless tile's wrap-around step looks like any other step; allow up to twice the average.
        scores.append(1.0 if seam <= 2 * interior else float(2 * interior / seam))
    return round(min(scores), 3)


def tiled(image: Image.Image) -> Image.Image:
    tile = fit_preview(image.copy(), 400)
    sheet = Image.new("RGB", (tile.width * 2, tile.height * 2))
    for x in (0, tile.width):
        for y in (0, tile.height):
            sheet.paste(tile, (x, y))
    return sheet


def validate(path: Path, fmt: str) -> tuple[Report, list[tuple[str, Image.Image]]]:
    report = Report(format=fmt)
    with _open(path) as image:
        try:
            image.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise FileRejected("The image data does not decode fully. Export it again.", "image.damaged") from exc
        report.properties.update({"width_px": image.width, "height_px": image.height, "mode": image.mode})
        dpi = image.info.get("dpi")
        if dpi and dpi[0] and float(dpi[0]) > 1:
            x_dpi, y_dpi = float(dpi[0]), float(dpi[1] or dpi[0])
            report.properties["dpi"] = round(x_dpi, 1)
            report.properties["print_width_mm"] = round(image.width / x_dpi * 25.4, 1)
            report.properties["print_height_mm"] = round(image.height / y_dpi * 25.4, 1)
        else:
            report.add("image.no_dpi", "The image does not record a DPI; its print size is unknown.")
        at_300 = min(image.width, image.height) / PRINT_DPI * 25.4
        report.properties["print_size_at_300dpi_mm"] = [
            round(image.width / PRINT_DPI * 25.4, 1),
            round(image.height / PRINT_DPI * 25.4, 1),
        ]
        if at_300 < MIN_PRINT_MM:
            report.add(
                "image.low_resolution",
                f"At {PRINT_DPI} dpi the image prints only {at_300:.0f} mm on its short side; "
                "it will look soft on fabric or paper.",
                short_side_mm=round(at_300, 1),
            )
        if image.mode == "CMYK":
            report.add("image.cmyk", "The image is CMYK; previews show it converted to RGB.")
        score = seamless_score(image)
        report.properties["seamless_score"] = score
        if score < SEAMLESS_THRESHOLD:
            report.add(
                "image.not_seamless",
                f"Opposite edges do not match (score {score:.2f} of 1); tiles will show visible seams.",
                score=score,
            )
        previews = [("Image", fit_preview(image.copy())), ("Tiled 2×2", tiled(image))]
        from ingestion.shape import difference_hash

        report.artifacts["dhash.f32"] = difference_hash(image).tobytes()
    return report, previews
