"""Real files generated in code for tests: every format Tessera accepts, plus broken ones."""

from __future__ import annotations

import io

import numpy as np
import trimesh
from PIL import Image


def _export(mesh: trimesh.Trimesh, file_type: str) -> bytes:
    exported = mesh.export(file_type=file_type)
    assert isinstance(exported, bytes | str)
    return exported.encode() if isinstance(exported, str) else exported


def stl_cube(size: float = 20.0) -> bytes:
    return _export(trimesh.creation.box(extents=[size, size, size]), "stl")


def obj_sphere() -> bytes:
    return _export(trimesh.creation.icosphere(subdivisions=2, radius=10), "obj")


def ply_torus() -> bytes:
    mesh = trimesh.creation.torus(major_radius=20, minor_radius=5, major_sections=24, minor_sections=12)
    return _export(mesh, "ply")


def threemf_cone() -> bytes:
    return _export(trimesh.creation.cone(radius=10, height=20), "3mf")


def svg_square() -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="50mm" height="50mm" viewBox="0 0 50 50">'
        b'<rect x="5" y="5" width="40" height="40" fill="none" stroke="red"/></svg>'
    )


def svg_with_script() -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script>'
        b'<rect width="5" height="5"/></svg>'
    )


def svg_with_entity() -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaa">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&a;</text></svg>'
    )


def dxf_rectangle() -> bytes:
    import ezdxf

    document = ezdxf.new("R2010", setup=False)
    document.units = ezdxf.units.MM
    document.modelspace().add_lwpolyline([(0, 0), (40, 0), (40, 20), (0, 20)], close=True)
    stream = io.StringIO()
    document.write(stream)
    return stream.getvalue().encode()


def png_tile(size: int = 64) -> bytes:
    y, x = np.mgrid[0:size, 0:size]
    pixels = ((np.sin(x / size * 2 * np.pi) + 1) * 127).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([pixels, 255 - pixels, pixels // 2]), "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def jpg_photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 120, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


def pdf_two_pages() -> bytes:
    buffer = io.BytesIO()
    pages = [Image.new("RGB", (620, 877), "white"), Image.new("RGB", (620, 877), "white")]
    pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:], resolution=75.0)
    return buffer.getvalue()


def truncated_stl() -> bytes:
    return stl_cube()[:-30]


def broken_pdf() -> bytes:
    return b"%PDF-1.7\n" + b"\x00garbage" * 50


def broken_png() -> bytes:
    return png_tile()[:60]


def one_per_format() -> dict[str, bytes]:
    """A valid sample of every single-file format Tessera accepts, keyed by format code."""
    return {
        "stl": stl_cube(),
        "obj": obj_sphere(),
        "ply": ply_torus(),
        "3mf": threemf_cone(),
        "svg": svg_square(),
        "dxf": dxf_rectangle(),
        "pdf": pdf_two_pages(),
        "png": png_tile(),
        "jpg": jpg_photo(),
    }


def photo_png(width: int = 640, height: int = 480) -> bytes:
    """A real photograph (scikit-image's astronaut), the kind of content image marks must hide in."""
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def blob_mesh() -> trimesh.Trimesh:
    """A lumpy, asymmetric closed solid (so that its pose can be recovered after a rotation)."""
    mesh = trimesh.creation.icosphere(subdivisions=4, radius=30)
    v = mesh.vertices
    mesh.vertices = v * (1 + 0.2 * np.sin(v[:, [0]] / 7) + 0.1 * np.cos(v[:, [1]] / 5)) * [1.0, 0.7, 0.5] + [40, 20, 10]
    return mesh


def blob_stl() -> bytes:
    return _export(blob_mesh(), "stl")


def gear_points(teeth: int = 40, radius: float = 30.0) -> list[tuple[float, float]]:
    points = []
    for i in range(teeth * 4):
        angle = 2 * np.pi * i / (teeth * 4)
        r = radius + (3.0 if (i // 2) % 2 else 0.0)
        points.append((round(50 + r * np.cos(angle), 3), round(50 + r * np.sin(angle), 3)))
    return points


def svg_gear() -> bytes:
    path = "M " + " L ".join(f"{x} {y}" for x, y in gear_points()) + " Z"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100mm" height="100mm" viewBox="0 0 100 100">'
        f'<path d="{path}" fill="none" stroke="red"/><circle cx="50" cy="50" r="8" fill="none" stroke="red"/></svg>'
    ).encode()


def dxf_gear() -> bytes:
    import ezdxf

    document = ezdxf.new("R2010", setup=False)
    document.units = ezdxf.units.MM
    document.modelspace().add_lwpolyline(gear_points(), close=True)
    document.modelspace().add_circle((50, 50), 8)
    stream = io.StringIO()
    document.write(stream)
    return stream.getvalue().encode()


def reencode_image(data: bytes, *, scale: float = 1.0, quality: int | None = None) -> bytes:
    """What a leaker does to an image: resize it (Lanczos) and save it as JPEG at ``quality``, or as PNG."""
    with Image.open(io.BytesIO(data)) as opened:
        picture = opened.convert("RGB")
    if scale != 1.0:
        picture = picture.resize(
            (round(picture.width * scale), round(picture.height * scale)), Image.Resampling.LANCZOS
        )
    out = io.BytesIO()
    if quality:
        picture.save(out, "JPEG", quality=quality)
    else:
        picture.save(out, "PNG")
    return out.getvalue()
