"""The visible watermark on every public preview, so the catalog never hands out a usable original."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont


def preview_watermark(image: Image.Image, text: str) -> Image.Image:
    """Tile ``text`` diagonally over the image at low opacity, plus a solid label in one corner."""
    if not text:
        return image
    base = image.convert("RGBA")
    size = max(12, min(base.size) // 18)
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    stamp = Image.new("RGBA", (right - left + size * 2, bottom - top + size), (0, 0, 0, 0))
    ImageDraw.Draw(stamp).text((size - left, size // 2 - top), text, font=font, fill=(255, 255, 255, 90))
    ImageDraw.Draw(stamp).text((size - left + 1, size // 2 - top + 1), text, font=font, fill=(0, 0, 0, 60))
    stamp = stamp.rotate(30, expand=True, resample=Image.Resampling.BICUBIC)
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    step_y = max(stamp.height * 2 // 3, 1)
    for row, y in enumerate(range(-stamp.height // 2, base.height, step_y)):
        shift = (row % 2) * stamp.width // 2
        for x in range(-stamp.width + shift, base.width, stamp.width):
            overlay.paste(stamp, (x, y), stamp)
    label_font = ImageFont.load_default(size=max(10, size * 2 // 3))
    draw = ImageDraw.Draw(overlay)
    box = [int(v) for v in draw.textbbox((0, 0), text, font=label_font)]
    margin = 6
    x, y = base.width - (box[2] - box[0]) - margin * 2, base.height - (box[3] - box[1]) - margin * 2
    draw.rectangle((x - margin, y - margin, base.width, base.height), fill=(0, 0, 0, 120))
    draw.text((x - box[0], y - box[1]), text, font=label_font, fill=(255, 255, 255, 230))
    marked = Image.alpha_composite(base, overlay)
    return marked.convert(image.mode if image.mode in ("RGB", "RGBA", "L") else "RGB")
