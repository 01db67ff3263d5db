"""3D meshes (STL, OBJ, 3MF, PLY): parse, measure, and render shaded previews on the CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh
from PIL import Image, ImageDraw

from .base import FileRejected, Report

VIEW_ANGLES = [(-60.0, 30.0), (30.0, 25.0), (0.0, 89.0)]  # (azimuth, elevation) in degrees
PREVIEW_SIZE = 800


def load_mesh(path: Path, fmt: str) -> trimesh.Trimesh:
    try:
        loaded = trimesh.load(str(path), file_type=fmt, force="mesh", process=True)
    except Exception as exc:  # noqa: BLE001 - trimesh raises many types for broken input
        raise FileRejected(f"The {fmt.upper()} model could not be read: {str(exc)[:160]}. Export it again.") from exc
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise FileRejected(f"The {fmt.upper()} file contains no triangles.")
    return loaded


def quick_check(path: Path, fmt: str) -> None:
    load_mesh(path, fmt)


def validate(path: Path, fmt: str) -> tuple[Report, list[tuple[str, Image.Image]]]:
    report = Report(format=fmt)
    mesh = load_mesh(path, fmt)
    extents = [round(float(v), 3) for v in mesh.extents]
    report.properties.update(
        {
            "vertex_count": len(mesh.vertices),
            "face_count": len(mesh.faces),
            "bounding_box_mm": extents,
            "watertight": bool(mesh.is_watertight),
            "body_count": int(len(mesh.split(only_watertight=False))) if len(mesh.faces) < 200_000 else None,
        }
    )
    if mesh.is_watertight:
        report.properties["volume_mm3"] = round(float(abs(mesh.volume)), 3)
    else:
        report.add(
            "mesh.not_watertight",
            "warning",
            "The model has holes (it is not watertight); slicers may fail or fill it oddly.",
        )
    return report, [(f"View {i + 1}", render_mesh(mesh, az, el)) for i, (az, el) in enumerate(VIEW_ANGLES)]


def _rotation(azimuth: float, elevation: float) -> np.ndarray:
    az, el = np.radians(azimuth), np.radians(elevation)
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(el), -np.sin(el)], [0, np.sin(el), np.cos(el)]])
    # Camera looks along +y after rotation; z is up on screen.
    return rx @ rz


def render_mesh(mesh: trimesh.Trimesh, azimuth: float, elevation: float, size: int = PREVIEW_SIZE) -> Image.Image:
    """Flat-shaded orthographic rendering with the painter's algorithm; no OpenGL needed."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    vertices = vertices - vertices.mean(axis=0)
    rotated = vertices @ _rotation(azimuth, elevation).T
    triangles = rotated[np.asarray(mesh.faces)]
    normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    lengths[lengths == 0] = 1
    normals /= lengths[:, None]
    light = np.array([-0.4, -0.8, 0.45])
    light /= np.linalg.norm(light)
    shade = np.abs(normals @ light)  # two-sided, so inverted normals still render
    span = np.ptp(rotated[:, [0, 2]], axis=0).max() or 1.0
    margin = 0.06 * size
    scale = (size - 2 * margin) / span
    center = (rotated[:, [0, 2]].max(axis=0) + rotated[:, [0, 2]].min(axis=0)) / 2
    screen = np.empty((len(triangles), 3, 2))
    screen[..., 0] = (triangles[..., 0] - center[0]) * scale + size / 2
    screen[..., 1] = size / 2 - (triangles[..., 2] - center[1]) * scale
    order = np.argsort(-triangles[..., 1].mean(axis=1))  # far (large y) first
    base = np.array([70, 130, 200])
    colours = (base[None, :] * (0.35 + 0.65 * shade[:, None])).clip(0, 255).astype(np.uint8)
    image = Image.new("RGB", (size, size), (245, 246, 248))
    draw = ImageDraw.Draw(image)
    for index in order:
        points = screen[index]
        draw.polygon(
            [(points[0, 0], points[0, 1]), (points[1, 0], points[1, 1]), (points[2, 0], points[2, 1])],
            fill=tuple(int(c) for c in colours[index]),
        )
    return image
