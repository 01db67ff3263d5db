"""PNG and JPEG: full decode under a pixel budget, print size, colour mode."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .base import FileRejected, Report, fit_preview

MAX_PIXELS = 16_384 * 16_384


def _open(path: Path) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            if image.width * image.height > MAX_PIXELS:
                raise FileRejected(
                    f"The image is {image.width}×{image.height} pixels, above the limit of "
                    f"{MAX_PIXELS:,} pixels. Scale it down before uploading."
                )
            return image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FileRejected(
            f"The image declares more pixels than the limit of {MAX_PIXELS:,}. Scale it down before uploading."
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise FileRejected("The image could not be read: it is damaged or not really an image.") from exc


def quick_check(path: Path) -> None:
    with _open(path) as image:
        try:
            image.verify()
        except Exception as exc:
            raise FileRejected("The image is damaged: its data does not decode. Export it again.") from exc


def validate(path: Path, fmt: str) -> tuple[Report, list[tuple[str, Image.Image]]]:
    report = Report(format=fmt)
    with _open(path) as image:
        try:
            image.load()
        except (OSError, SyntaxError, ValueError) as exc:
            report.add("image.decode_failed", "error", "The image data does not decode fully. Export it again.")
            report.properties["error"] = str(exc)[:200]
            return report, []
        dpi = image.info.get("dpi")
        report.properties.update({"width_px": image.width, "height_px": image.height, "mode": image.mode})
        if dpi and dpi[0]:
            report.properties["dpi"] = round(float(dpi[0]), 1)
            report.properties["print_width_mm"] = round(image.width / float(dpi[0]) * 25.4, 1)
            report.properties["print_height_mm"] = round(image.height / float(dpi[1] or dpi[0]) * 25.4, 1)
        else:
            report.add("image.no_dpi", "info", "The image does not record a DPI; print size is unknown.")
        preview = fit_preview(image.copy())
    return report, [("Image", preview)]
