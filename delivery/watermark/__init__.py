"""Per-buyer forensic watermarks: one entry point to mark a file, one to read a suspected leak.

Every format carries the same 80-bit codeword (``payload``) for the entitlement the copy was made
for; the carriers differ by format (``image``, ``mesh``, ``vector``, ``pdf``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from delivery.watermark import image, mesh, payload, pdf, vector

MARKABLE_FORMATS = frozenset({"png", "jpg", "stl", "obj", "ply", "3mf", "svg", "dxf", "pdf"})
MESH_FORMATS = frozenset({"stl", "obj", "ply", "3mf"})


def secret() -> bytes:
    return settings.TESSERA_WATERMARK_SECRET.encode()


def mark(data: bytes, *, file_format: str, entitlement_id: int, notice: str) -> tuple[bytes, dict[str, float]]:
    """Return ``data`` carrying the entitlement's codeword, in the same format, and what was measured."""
    key = secret()
    signs = payload.codeword_signs(key=key, entitlement_id=entitlement_id)
    token = payload.token_encode(key=key, entitlement_id=entitlement_id)
    if file_format in ("png", "jpg"):
        return image.embed(data, key=key, signs=signs)
    if file_format in MESH_FORMATS:
        return mesh.embed(data, file_format=file_format, key=key, signs=signs)
    if file_format == "svg":
        return vector.svg_embed(data, key=key, signs=signs, token=token, notice=notice)
    if file_format == "dxf":
        return vector.dxf_embed(data, key=key, signs=signs, token=token, notice=notice)
    if file_format == "pdf":
        return pdf.embed(data, token=token, notice=notice)
    raise ValueError(f"{file_format} files are not watermarked.")


@dataclass
class Reading:
    """Soft codeword bits recovered from one carrier of a suspect file."""

    carrier: str
    soft: np.ndarray
    details: dict[str, float] = field(default_factory=dict)


def read(data: bytes, *, file_format: str, original: tuple[bytes, str] | None = None) -> list[Reading]:
    """Every reading a suspect file gives; ``original`` is the candidate original (bytes, format)."""
    key = secret()
    readings: list[Reading] = []
    if file_format in ("png", "jpg"):
        if original is not None:
            readings.append(Reading("image", image.soft_bits(data, key=key, original=original[0])))
    elif file_format in MESH_FORMATS:
        readings.append(Reading("vertices", mesh.soft_bits(data, file_format=file_format, key=key, original=original)))
    elif file_format in ("svg", "dxf"):
        reader = vector.svg_soft_bits if file_format == "svg" else vector.dxf_soft_bits
        token, coordinates = reader(data, key=key)
        if token is not None:
            readings.append(Reading("metadata", token))
        readings.append(Reading("coordinates", coordinates))
    elif file_format == "pdf":
        token = pdf.soft_bits(data)
        if token is not None:
            readings.append(Reading("invisible text", token))
    return readings
