"""Format detection from content: magic bytes and structure, never the extension or the content type."""

from __future__ import annotations

import re
import struct
import zipfile
from pathlib import Path

HEAD_BYTES = 4096

_OBJ_LINE = re.compile(rb"^\s*(v|vt|vn|vp|f|l|o|g|s|usemtl|mtllib)\s", re.MULTILINE)
_DXF_START = re.compile(rb"^\s*0\s*\r?\n\s*(SECTION|EOF)\s*$", re.MULTILINE)


class UnsupportedFormat(ValueError):
    """The content is not one of the formats Tessera sells."""


SUPPORTED_DESCRIPTION = "STL, 3MF, OBJ, PLY, SVG, DXF, PDF, PNG, JPEG, WebP, TIFF, or a ZIP of those"


def _is_binary_stl(head: bytes, size: int) -> bool:
    if size < 84:
        return False
    (count,) = struct.unpack_from("<I", head, 80)
    return 84 + 50 * count == size


def detect_format(path: Path) -> str:
    """Return the format code of the file at ``path`` or raise :class:`UnsupportedFormat`."""
    size = path.stat().st_size
    if size == 0:
        raise UnsupportedFormat("The file is empty.")
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = {name.lower() for name in archive.namelist()}
        except (zipfile.BadZipFile, OSError) as exc:
            raise UnsupportedFormat("The file looks like a ZIP archive but it is damaged.") from exc
        if "3d/3dmodel.model" in names:
            return "3mf"
        return "zip"
    if head.startswith(b"ply\n") or head.startswith(b"ply\r\n"):
        return "ply"
    if head.startswith(b"AutoCAD Binary DXF"):
        return "dxf"
    if _is_binary_stl(head, size):
        return "stl"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:5].lower() == b"solid" and (b"facet" in head or size < HEAD_BYTES):
        return "stl"
    if stripped.startswith(b"<") and re.search(rb"<svg[\s>]", head):
        return "svg"
    if _DXF_START.search(head[:512]):
        return "dxf"
    if _OBJ_LINE.search(head):
        return "obj"
    if size >= 84:
        # A binary STL whose triangle count disagrees with its size is a truncated or padded STL.
        (count,) = struct.unpack_from("<I", head, 80)
        if 0 < count < 200_000_000 and abs(84 + 50 * count - size) < 50 * count and b"\x00" in head[84:]:
            raise UnsupportedFormat(
                f"This looks like a binary STL declaring {count} triangles, but the file is "
                f"{size} bytes instead of {84 + 50 * count}: it is truncated or damaged. Export it again."
            )
    raise UnsupportedFormat(f"This is not a file type Tessera accepts. Upload {SUPPORTED_DESCRIPTION}.")
