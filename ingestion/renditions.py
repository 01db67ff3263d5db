"""Resized copies of a preview for responsive pages: WebP at a few widths plus one PNG or JPEG fallback.

Pure image work (no database): ``renditions_render`` returns encoded bytes with their true pixel size; the
service in ``ingestion.services`` stores them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

# Cards are ~220-300 CSS px wide (320 w covers 1x, 640 w 2x); the pattern page's main image is at most ~700 CSS px
# (1280 w covers it at 2x). Narrower originals are never upscaled: their own width is the largest rendition.
RENDITION_WIDTHS = (320, 640, 1280)
# The width of the single PNG/JPEG for browsers without WebP (the ``<img src>`` of the ``<picture>``).
FALLBACK_WIDTH = 640
WEBP_QUALITY = 82
JPEG_QUALITY = 82
# More distinct colours than this in a 64 px thumbnail: a photograph (JPEG fallback), else a drawing (PNG).
PHOTO_COLOURS = 1500


@dataclass(frozen=True)
class RenderedRendition:
    format: str  # "webp", "png" or "jpeg" (PreviewRendition.Format values)
    width: int
    height: int
    data: bytes


def rendition_widths(width: int) -> list[int]:
    """The widths to make for an image ``width`` px wide: the standard ones below it, and itself capped."""
    return sorted({w for w in RENDITION_WIDTHS if w < width} | {min(width, RENDITION_WIDTHS[-1])})


def is_photo(image: Image.Image) -> bool:
    """Continuous-tone content (many distinct colours), where JPEG beats PNG."""
    small = image.convert("RGB")
    small.thumbnail((64, 64))
    colours = small.getcolors(maxcolors=PHOTO_COLOURS + 1)
    return colours is None


def _resized(image: Image.Image, width: int) -> Image.Image:
    if width >= image.width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "webp":
        image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=5)
    elif fmt == "jpeg":
        flat = image
        if image.mode in ("RGBA", "LA", "P"):
            flat = Image.new("RGB", image.size, (255, 255, 255))
            flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        flat.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    else:
        image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def renditions_render(image: Image.Image, *, skip: frozenset[tuple[str, int]] = frozenset()) -> list[RenderedRendition]:
    """Every rendition of ``image`` except the ``(format, width)`` pairs in ``skip`` (those already stored)."""
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGBA" if "A" in image.getbands() or image.mode == "P" else "RGB")
    wanted = [("webp", width) for width in rendition_widths(image.width)]
    wanted.append(("jpeg" if is_photo(image) else "png", min(FALLBACK_WIDTH, image.width)))
    rendered = []
    for fmt, width in wanted:
        if (fmt, width) in skip:
            continue
        resized = _resized(image, width)
        rendered.append(RenderedRendition(fmt, resized.width, resized.height, _encode(resized, fmt)))
    return rendered
