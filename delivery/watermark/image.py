"""Invisible image watermark: keyed low-frequency carriers in cycles-per-image coordinates.

Each codeword bit is spread over ~30 sinusoids between 8 and 40 cycles per image width/height, with
keyed phases and signs. Because the carriers are defined per image rather than per pixel, they are
the same after any resize; because they are smooth (wavelength ≥ 1/40 of the image) JPEG at quality
75 barely touches them; and because every carrier is a whole number of cycles the mark is periodic, so
a seamless pattern still tiles. Detection is informed: the tracer subtracts the original (found by
its dHash) resampled to the same canonical grid, which removes the image itself and leaves the mark.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageOps

from delivery.watermark.payload import CODEWORD_BITS, keyed_rng

CANONICAL = 256
MIN_RADIUS, MAX_RADIUS = 8, 40
STRENGTH_RMS = 1.9  # grey levels; PSNR ≈ 20·log10(255 / 1.9) ≈ 42.5 dB before rounding
MIN_SIDE = 96


@dataclass(frozen=True)
class Carriers:
    u: np.ndarray  # horizontal cycles per image (≥ 0)
    v: np.ndarray  # vertical cycles per image (may be negative)
    phase: np.ndarray
    bit: np.ndarray
    sign: np.ndarray


@lru_cache(maxsize=8)
def carriers(key: bytes) -> Carriers:
    grid_v, grid_u = np.mgrid[-MAX_RADIUS : MAX_RADIUS + 1, 0 : MAX_RADIUS + 1]
    radius = np.hypot(grid_u, grid_v)
    # Half plane (u > 0, or u == 0 with v > 0) so no frequency appears twice as its own conjugate.
    keep = (radius >= MIN_RADIUS) & (radius <= MAX_RADIUS) & ((grid_u > 0) | (grid_v > 0))
    u, v = grid_u[keep], grid_v[keep]
    rng = keyed_rng(key, "image-carriers")
    order = rng.permutation(len(u))
    u, v = u[order], v[order]
    bit = np.arange(len(u)) % CODEWORD_BITS
    phase = rng.uniform(0, 2 * np.pi, len(u))
    sign = rng.choice([-1.0, 1.0], len(u))
    return Carriers(u=u, v=v, phase=phase, bit=bit, sign=sign)


def _pattern(key: bytes, signs: np.ndarray, width: int, height: int) -> np.ndarray:
    """The mark at full resolution, synthesised with one inverse FFT; RMS normalised to 1."""
    c = carriers(key)
    amplitude = c.sign * signs[c.bit]
    # Carriers are cos(2π(u(x+½)/W + v(y+½)/H) + φ): sampled at pixel centres, so that resampling
    # (which keeps pixel centres aligned) keeps them exact.
    psi = c.phase + np.pi * (c.u / width + c.v / height)
    spectrum = np.zeros((height, width // 2 + 1), dtype=np.complex128)
    np.add.at(spectrum, (c.v % height, c.u), amplitude * np.exp(1j * psi) * (width * height / 2))
    pattern = np.fft.irfft2(spectrum, s=(height, width))
    return pattern / np.sqrt(np.mean(pattern**2))


def _luma(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L").resize((CANONICAL, CANONICAL), Image.Resampling.BOX), dtype=np.float64)


def embed(data: bytes, *, key: bytes, signs: np.ndarray) -> tuple[bytes, dict[str, float]]:
    """Mark an image and save it in its own format; returns the bytes and the PSNR reached."""
    with Image.open(io.BytesIO(data)) as source:
        source.load()
        image_format = source.format or "PNG"
        info = dict(source.info)
        image = ImageOps.exif_transpose(source) if image_format == "JPEG" else source.copy()
    if min(image.size) < MIN_SIDE:
        raise ValueError(f"Images smaller than {MIN_SIDE} px on a side are too small to mark.")
    has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in info)
    working = image.convert("RGBA" if has_alpha else "RGB")
    pixels = np.asarray(working, dtype=np.float64)
    width, height = working.size
    delta = _pattern(key, signs, width, height) * STRENGTH_RMS
    marked = pixels.copy()
    marked[..., :3] += delta[..., None]
    marked = np.clip(np.round(marked), 0, 255)
    mse = float(np.mean((marked[..., :3] - pixels[..., :3]) ** 2))
    psnr = 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)
    result = Image.fromarray(marked.astype(np.uint8), working.mode)
    out = io.BytesIO()
    save_options: dict[str, object] = {}
    if info.get("icc_profile"):
        save_options["icc_profile"] = info["icc_profile"]
    if image_format == "JPEG":
        result.save(out, "JPEG", quality=95, subsampling=0, **save_options)
    else:
        if info.get("dpi"):
            save_options["dpi"] = info["dpi"]
        result.save(out, "PNG", **save_options)
    return out.getvalue(), {"psnr_db": round(float(psnr), 2)}


def soft_bits(suspect: bytes, *, key: bytes, original: bytes) -> np.ndarray:
    """Correlation of (suspect − original) with each bit's carriers, on the canonical grid."""
    with Image.open(io.BytesIO(suspect)) as image:
        residual = _luma(ImageOps.exif_transpose(image))
    with Image.open(io.BytesIO(original)) as image:
        residual -= _luma(ImageOps.exif_transpose(image))
    c = carriers(key)
    spectrum = np.fft.rfft2(residual)
    values = spectrum[c.v % CANONICAL, c.u]
    psi = c.phase + np.pi * (c.u + c.v) / CANONICAL
    correlation = np.real(np.exp(1j * psi) * np.conj(values)) * c.sign
    sums = np.bincount(c.bit, weights=correlation, minlength=CODEWORD_BITS)
    scale = np.sqrt(np.bincount(c.bit, weights=correlation**2, minlength=CODEWORD_BITS)) + 1e-9
    return sums / scale
