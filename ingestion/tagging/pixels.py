"""Pixel features every tagger shares: palette with colour names, rendering type, symmetry, seamless tiling."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from ingestion.validators.image import seamless_score

from .base import Suggestion

# A small named palette (sRGB); each dominant colour takes the nearest name in CIE Lab.
COLOUR_NAMES = {
    "black": (20, 20, 20),
    "white": (245, 245, 245),
    "grey": (128, 128, 128),
    "red": (200, 30, 35),
    "orange": (240, 130, 30),
    "yellow": (240, 210, 40),
    "green": (50, 150, 60),
    "mint": (170, 225, 200),
    "teal": (0, 128, 128),
    "blue": (40, 90, 200),
    "navy": (20, 30, 90),
    "sky blue": (130, 190, 235),
    "purple": (120, 50, 160),
    "pink": (240, 150, 190),
    "magenta": (200, 40, 140),
    "brown": (120, 75, 40),
    "beige": (225, 205, 170),
    "gold": (200, 160, 50),
}
BACKGROUND_WHITE = 240


def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (0–255) to CIE Lab (D65)."""
    c = rgb / 255.0
    linear = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


_NAMES = list(COLOUR_NAMES)
_NAMED_LAB = _lab(np.array(list(COLOUR_NAMES.values()), dtype=np.float64))


@dataclass
class PixelFeatures:
    palette: list[dict[str, Any]] = field(default_factory=list)
    rendering: str = "photo"
    symmetry: float = 0.0
    seamless: float = 0.0

    def suggestions(
        self, *, tileable: bool = True, describe_rendering: bool = True, colours: bool = True
    ) -> list[Suggestion]:
        """Colour and style suggestions. For our own renders of meshes, drawings and PDFs pass False for both:
        their plain backgrounds would look like a seamless tile, and the rendering type describes the preview,
        not the design. ``colours`` is False where the colours are ours (mesh renders, cut-line drawings)."""
        found = [
            Suggestion(str(c["name"]), "colour", float(c["share"]))
            for c in self.palette
            if colours and float(c["share"]) >= 0.12
        ]
        if describe_rendering:
            found.append(Suggestion(self.rendering, "style", 0.6))
        if self.symmetry >= 0.9:
            found.append(Suggestion("symmetric", "style", round(self.symmetry, 3)))
        if tileable and self.seamless >= 0.9:
            found.append(Suggestion("seamless", "style", round(self.seamless, 3)))
        return found


def _kmeans(
    pixels: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    centres = pixels[rng.choice(len(pixels), size=min(k, len(pixels)), replace=False)]
    for _ in range(iterations):
        labels = ((pixels[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
        for index in range(len(centres)):
            members = pixels[labels == index]
            if len(members):
                centres[index] = members.mean(0)
    return centres, labels


def pixel_features(image: Image.Image | np.ndarray, *, ignore_white_background: bool = False) -> PixelFeatures:
    """Features of an image, or of the 224 px letterboxed array the network already received (cheaper)."""
    if isinstance(image, np.ndarray):
        step = max(1, image.shape[0] // 64)
        small = image[::step, ::step].astype(np.float64)
    else:
        # Shrink once with Pillow's fast reducing path; every feature below works on this small copy.
        rgb = image.convert("RGB")
        rgb.thumbnail((128, 128), Image.Resampling.BILINEAR, reducing_gap=2.0)
        small = np.asarray(rgb.resize((64, 64), Image.Resampling.BILINEAR), dtype=np.float64)
    pixels = small.reshape(-1, 3)
    if ignore_white_background:
        foreground = pixels[(pixels < BACKGROUND_WHITE).any(axis=1)]
        pixels = foreground if len(foreground) >= 50 else pixels
    rng = np.random.default_rng(0)
    # The palette from a fixed sample of 1,024 pixels: shares are estimated well enough, at a quarter of the cost.
    sample = pixels[rng.choice(len(pixels), size=min(1024, len(pixels)), replace=False)]
    centres, labels = _kmeans(sample, 5, rng)
    shares = np.bincount(labels, minlength=len(centres)) / len(labels)
    names = ((_lab(centres)[:, None, :] - _NAMED_LAB[None]) ** 2).sum(-1).argmin(1)
    merged: dict[str, float] = {}
    for name_index, share in zip(names, shares, strict=True):
        merged[_NAMES[name_index]] = merged.get(_NAMES[name_index], 0.0) + float(share)
    palette = [
        {"name": name, "share": round(share, 3)}
        for name, share in sorted(merged.items(), key=lambda item: -item[1])
        if share > 0.01
    ]
    grey = small.mean(axis=2)
    # Calibrated at 64×64 on photos (scikit-image samples: 380–1,070 colours), mesh renders on a light
    # background (100–160 colours, 60–75% light) and drawings (under 10 colours, mostly white).
    distinct = len(np.unique((small // 8).reshape(-1, 3), axis=0))
    light = float((grey > 225).mean())
    if light >= 0.8 and distinct <= 40:
        rendering = "line art"
    elif distinct >= 300:
        rendering = "photo"
    elif light >= 0.4 and distinct >= 60:
        rendering = "render"
    else:
        rendering = "flat graphic"
    mirrored_h = 1 - np.abs(grey - grey[:, ::-1]).mean() / 255
    mirrored_v = 1 - np.abs(grey - grey[::-1, :]).mean() / 255
    return PixelFeatures(
        palette=palette,
        rendering=rendering,
        symmetry=round(float(max(mirrored_h, mirrored_v)), 3),
        seamless=seamless_score(Image.fromarray(small.astype(np.uint8))),
    )
