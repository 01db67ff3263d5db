"""3D meshes (STL, OBJ, 3MF, PLY): parse, check printability, measure, and render previews on the CPU.

Everything works on a triangle soup (F, 3, 3) in millimetres. Coincident vertices are merged by
manifold3d, which also gives the authoritative manifold status; the other checks are vectorised numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import manifold3d
import numpy as np
import trimesh
from PIL import Image
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from catalog.printers import PRINTER_BEDS

from .base import FileRejected, Report

VIEW_ANGLES = [(-50.0, 25.0), (130.0, 25.0), (0.0, 89.0)]  # (azimuth, elevation) in degrees
VIEW_LABELS = ["Front three-quarter view", "Back three-quarter view", "Top view"]
PREVIEW_SIZE = 800


# Material assumptions for the mass estimate, stated in the report.
PLA_DENSITY_G_PER_CM3 = 1.24
WALL_THICKNESS_MM = 0.8
INFILL_FRACTION = 0.15
OVERHANG_LIMIT_DEGREES = 45.0
# The public viewer mesh: vertices clustered on a grid of this many cells along the longest side.
VIEWER_GRID = 128
VIEWER_MAX_FACES = 60_000

_STL_RECORD = np.dtype([("normal", "<f4", (3,)), ("vertices", "<f4", (3, 3)), ("attribute", "<u2")])


@dataclass
class MeshData:
    """A triangle soup plus the merged vertex index of every corner."""

    triangles: np.ndarray  # (F, 3, 3) float32, as in the files
    faces: np.ndarray  # (F, 3) int64 merged vertex ids (ids are soup corner indices)
    manifold_status: str


def _is_binary_stl(path: Path) -> bool:
    size = path.stat().st_size
    if size < 84:
        return False
    with open(path, "rb") as handle:
        handle.seek(80)
        count = int.from_bytes(handle.read(4), "little")
    return 84 + 50 * count == size


def load_triangles(path: Path, fmt: str) -> np.ndarray:
    """Triangles as a (F, 3, 3) float array; raises FileRejected with a readable reason."""
    if fmt == "stl" and _is_binary_stl(path):
        records = np.memmap(path, dtype=_STL_RECORD, mode="r", offset=84)
        triangles = np.array(records["vertices"], dtype=np.float32)
    else:
        try:
            loaded = trimesh.load(str(path), file_type=fmt, force="mesh", process=False)
        except Exception as exc:  # noqa: BLE001 - trimesh raises many types for broken input
            raise FileRejected(
                f"The {fmt.upper()} model could not be read ({str(exc)[:120]}). Export it again."
            ) from exc
        if not isinstance(loaded, trimesh.Trimesh):
            raise FileRejected(f"The {fmt.upper()} file contains no triangle mesh.", "mesh.empty")
        vertices = np.asarray(loaded.vertices, dtype=np.float32)
        faces = np.asarray(loaded.faces, dtype=np.int64)
        if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
            raise FileRejected(f"The {fmt.upper()} file refers to vertices that do not exist.")
        triangles = vertices[faces] if len(faces) else np.zeros((0, 3, 3), dtype=np.float32)
    if len(triangles) == 0:
        raise FileRejected(f"The {fmt.upper()} file contains no triangles.", "mesh.empty")
    if not np.isfinite(triangles).all():
        raise FileRejected(
            f"The {fmt.upper()} file has vertices that are not numbers (NaN or infinity).", "mesh.non_finite"
        )
    return triangles


def merge(triangles: np.ndarray) -> MeshData:
    """Merge coincident corners with manifold3d and read its manifold status."""
    count = len(triangles)
    mesh = manifold3d.Mesh(
        vert_properties=np.ascontiguousarray(triangles.reshape(-1, 3), dtype=np.float32),
        tri_verts=np.arange(3 * count, dtype=np.uint32).reshape(count, 3),
    )
    mesh.merge()
    status = manifold3d.Manifold(mesh).status()
    representative = np.arange(3 * count, dtype=np.int64)
    merge_from = np.asarray(mesh.merge_from_vert, dtype=np.int64)
    if len(merge_from):
        representative[merge_from] = np.asarray(mesh.merge_to_vert, dtype=np.int64)
    return MeshData(triangles=triangles, faces=representative.reshape(count, 3), manifold_status=status.name)


def quick_check(path: Path, fmt: str) -> None:
    load_triangles(path, fmt)


def _bounds(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column min and max of an (N, 3) array; column by column is many times faster than axis=0."""
    lower = np.array([points[:, axis].min() for axis in range(points.shape[1])])
    upper = np.array([points[:, axis].max() for axis in range(points.shape[1])])
    return lower, upper


def _transform(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``points @ matrix.T`` for (N, 3) points, column by column (a 3×3 matmul over millions of rows is slow)."""
    columns = [points[:, axis] for axis in range(3)]
    return np.stack([columns[0] * row[0] + columns[1] * row[1] + columns[2] * row[2] for row in matrix], axis=1)


def _face_normals(triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cross = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    doubled_area = np.linalg.norm(cross, axis=1)
    normals = np.divide(cross, doubled_area[:, None], out=np.zeros_like(cross), where=doubled_area[:, None] > 0)
    return normals, doubled_area / 2


def _compact(faces: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber merged vertex ids to 0..V-1 so that pairs and triples of ids fit in one int64 key."""
    # Ids are corner indices below 3F, so a lookup table renumbers them in linear time.
    used = np.zeros(int(faces.max()) + 1, dtype=bool)
    used[faces] = True
    renumber = np.cumsum(used, dtype=np.int64) - 1
    return renumber[faces], int(used.sum())


def _run_lengths(keys: np.ndarray) -> np.ndarray:
    """How often each distinct key occurs (sort-based; faster than np.unique's hashing here)."""
    keys = np.sort(keys)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return np.diff(np.append(starts, len(keys)))


def _edge_stats(faces: np.ndarray, vertex_count: int) -> tuple[int, int, int]:
    """(boundary edges, non-manifold edges, edges used twice in the same direction)."""
    directed = np.stack([faces, np.roll(faces, -1, axis=1)], axis=2).reshape(-1, 2)
    directed = directed[directed[:, 0] != directed[:, 1]]
    if len(directed) == 0:
        return 0, 0, 0
    low, high = np.minimum(directed[:, 0], directed[:, 1]), np.maximum(directed[:, 0], directed[:, 1])
    undirected_counts = _run_lengths(low * vertex_count + high)
    directed_counts = _run_lengths(directed[:, 0] * vertex_count + directed[:, 1])
    return (
        int((undirected_counts == 1).sum()),
        int((undirected_counts > 2).sum()),
        int((directed_counts > 1).sum()),
    )


def _body_count(faces: np.ndarray, vertex_count: int) -> int:
    rows = np.concatenate([faces[:, 0], faces[:, 1]])
    cols = np.concatenate([faces[:, 1], faces[:, 2]])
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(vertex_count, vertex_count))
    count, _ = connected_components(graph, directed=False)
    return int(count)


def _units_finding(report: Report, largest: float) -> None:
    if largest < 0.5:
        report.add(
            "mesh.units_suspect_metres",
            f"The model is only {largest:.3f} mm across; it looks like it was exported in metres "
            f"(in millimetres it would be {largest * 1000:.0f} mm). Re-export in millimetres.",
            largest_mm=round(largest, 4),
        )
    elif largest < 8:
        report.add(
            "mesh.units_suspect_inches",
            f"The model is only {largest:.2f} mm across; it may have been exported in inches "
            f"(in millimetres it would be {largest * 25.4:.0f} mm). If it really is that small, ignore this.",
            largest_mm=round(largest, 3),
        )
    elif largest > 2000:
        report.add(
            "mesh.units_suspect_large",
            f"The model is {largest / 1000:.1f} m across; check that it was exported in millimetres.",
            largest_mm=round(largest, 1),
        )


def analyse(data: MeshData, fmt: str) -> Report:
    """Every printability check on a merged mesh."""
    report = Report(format=fmt)
    triangles = data.triangles
    faces, vertex_count = _compact(data.faces)
    normals, areas = _face_normals(triangles)
    face_count = len(faces)
    lower, upper = _bounds(triangles.reshape(-1, 3))
    extents = upper - lower
    degenerate = (
        (areas <= 1e-12) | (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2])
    )
    ordered = np.sort(faces, axis=1)
    face_keys = (ordered[:, 0] * vertex_count + ordered[:, 1]) * vertex_count + ordered[:, 2]
    face_keys.sort()
    duplicates = int((face_keys[1:] == face_keys[:-1]).sum())
    boundary, non_manifold, misoriented = _edge_stats(faces[~degenerate], vertex_count)
    watertight = boundary == 0 and non_manifold == 0
    # Volume by the divergence theorem, in float64 around the centre so large offsets do not cancel out.
    centred = triangles.astype(np.float64) - (lower + upper) / 2
    signed_volume = float(np.einsum("ij,ij->i", centred[:, 0], np.cross(centred[:, 1], centred[:, 2])).sum() / 6)
    area = float(areas.sum())
    bodies = _body_count(faces, vertex_count)

    report.properties.update(
        {
            "face_count": face_count,
            "vertex_count": vertex_count,
            "bounding_box_mm": [round(float(v), 3) for v in extents],
            "surface_area_mm2": round(area, 2),
            "watertight": watertight,
            "manifold_status": data.manifold_status,
            "body_count": bodies,
        }
    )
    if areas.max() <= 1e-12:
        report.add("mesh.zero_area", "Every triangle has zero area; there is nothing to print.")
        return report
    if degenerate.any():
        report.add(
            "mesh.degenerate_faces",
            f"{int(degenerate.sum())} triangles have zero area. Most slicers ignore them; a repair tool removes them.",
            count=int(degenerate.sum()),
        )
    if duplicates:
        report.add(
            "mesh.duplicate_faces",
            f"{duplicates} triangles are exact duplicates of others; remove them to avoid slicing artefacts.",
            count=duplicates,
        )
    if boundary:
        report.add(
            "mesh.not_watertight",
            f"The model has holes: {boundary} edges border only one triangle. Slicers may fail or fill it oddly; "
            "repair it (e.g. with a mesh repair tool) before printing.",
            open_edges=boundary,
        )
    if non_manifold:
        report.add(
            "mesh.non_manifold_edges",
            f"{non_manifold} edges are shared by more than two triangles, so inside and outside are ambiguous.",
            count=non_manifold,
        )
    if misoriented:
        report.add(
            "mesh.inconsistent_winding",
            f"{misoriented} edges join triangles that face opposite ways; some faces are flipped.",
            count=misoriented,
        )
    if watertight and not misoriented and signed_volume < 0:
        report.add(
            "mesh.inverted_normals",
            "All faces point inwards (the volume is negative). Flip the normals before printing.",
            signed_volume_mm3=round(signed_volume, 3),
        )
    if data.manifold_status != "NoError":
        report.add(
            "mesh.not_manifold",
            f"The geometry kernel could not treat the model as a closed solid ({data.manifold_status}).",
            status=data.manifold_status,
        )
    if bodies > 1:
        report.add(
            "mesh.multiple_bodies",
            f"The file holds {bodies} separate parts. Print them together or split them for best results.",
            count=bodies,
        )
    largest = float(extents.max())
    _units_finding(report, largest)
    fits = [name for name, bed in PRINTER_BEDS.items() if np.all(np.sort(extents) <= np.sort(bed))]
    report.properties["fits_printer_beds"] = fits
    if not fits:
        report.add(
            "mesh.exceeds_common_beds",
            "The model is larger than the build volume of every common printer we check; it must be split.",
            bounding_box_mm=report.properties["bounding_box_mm"],
        )
    if watertight:
        volume = abs(signed_volume)
        shell = min(volume, area * WALL_THICKNESS_MM)
        report.properties.update(
            {
                "volume_mm3": round(volume, 3),
                "mass_solid_g": round(volume / 1000 * PLA_DENSITY_G_PER_CM3, 2),
                "mass_estimate_g": round(
                    (shell + (volume - shell) * INFILL_FRACTION) / 1000 * PLA_DENSITY_G_PER_CM3, 2
                ),
                "mass_assumptions": (
                    f"PLA at {PLA_DENSITY_G_PER_CM3} g/cm³; estimate with {WALL_THICKNESS_MM} mm walls and "
                    f"{INFILL_FRACTION:.0%} infill"
                ),
            }
        )
    downward = normals[:, 2] < -math.cos(math.radians(OVERHANG_LIMIT_DEGREES))
    on_bed = np.maximum.reduce([triangles[:, corner, 2] for corner in range(3)]) <= lower[2] + 0.2
    overhang = float(areas[downward & ~on_bed].sum())
    report.properties["overhang_area_mm2"] = round(overhang, 2)
    if overhang > 0.05 * area:
        report.add(
            "mesh.overhangs",
            f"{overhang:.0f} mm² ({overhang / area:.0%} of the surface) overhangs more than "
            f"{OVERHANG_LIMIT_DEGREES:.0f}°; it needs supports in this orientation.",
            area_mm2=round(overhang, 2),
        )
    return report


def validate(path: Path, fmt: str) -> tuple[Report, list[tuple[str, Image.Image]]]:
    triangles = load_triangles(path, fmt)
    data = merge(triangles)
    report = analyse(data, fmt)
    if not report.ok:
        return report, []
    normals, _ = _face_normals(triangles)
    # Hidden faces of a closed, outward-facing solid can be skipped; anything else renders two-sided.
    closed = report.properties["watertight"] and not any(
        f.code in ("mesh.inconsistent_winding", "mesh.inverted_normals") for f in report.findings
    )
    images = [render(triangles, normals, az, el, cull_back_faces=closed) for az, el in VIEW_ANGLES]
    report.artifacts["viewer.stl"] = viewer_mesh(triangles)
    from ingestion.shape import shape_descriptor

    report.artifacts["shape.f32"] = shape_descriptor(triangles).tobytes()
    return report, list(zip(VIEW_LABELS, images, strict=True))


def viewer_mesh(triangles: np.ndarray, max_faces: int = VIEWER_MAX_FACES, resolution: int = VIEWER_GRID) -> bytes:
    """A simplified public copy for the 3D viewer: vertices snapped to a coarse grid (vertex clustering).

    Coarse enough that it is no substitute for the original file; fine enough to judge the shape.
    """
    corners = triangles.reshape(-1, 3)
    lower, upper = _bounds(corners)
    largest = float((upper - lower).max()) or 1.0
    while True:
        cell = largest / resolution
        keys = np.floor((corners - lower) / cell).astype(np.int64)
        flat = (keys[:, 0] * (resolution + 1) + keys[:, 1]) * (resolution + 1) + keys[:, 2]
        clusters, members = np.unique(flat, return_inverse=True)
        faces = members.reshape(-1, 3)
        keep = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
        faces = faces[keep]
        ordered = np.sort(faces, axis=1).astype(np.int64)
        face_keys = (ordered[:, 0] * len(clusters) + ordered[:, 1]) * len(clusters) + ordered[:, 2]
        _, first = np.unique(face_keys, return_index=True)
        faces = faces[np.sort(first)]
        if len(faces) <= max_faces or resolution <= 16:
            break
        resolution //= 2
    counts = np.bincount(members, minlength=len(clusters))[:, None]
    sums = np.stack(
        [np.bincount(members, weights=corners[:, axis], minlength=len(clusters)) for axis in range(3)], axis=1
    )
    positions = sums / np.maximum(counts, 1)
    records = np.zeros(len(faces), dtype=_STL_RECORD)
    records["vertices"] = positions[faces].astype(np.float32)
    header = b"Tessera preview mesh (simplified)".ljust(80, b" ")
    return header + np.uint32(len(faces)).tobytes() + records.tobytes()


def _rotation(azimuth: float, elevation: float) -> np.ndarray:
    az, el = np.radians(azimuth), np.radians(elevation)
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(el), -np.sin(el)], [0, np.sin(el), np.cos(el)]])
    # After rotation the camera looks along +y; x is right and z is up on screen.
    return rx @ rz


_TEMPLATES: dict[int, np.ndarray] = {}
_CENTROID = np.full((1, 3), 1 / 3)


def _barycentric_template(steps: int) -> np.ndarray:
    """Barycentric weights of a regular grid with ``steps`` divisions per edge, (P, 3)."""
    if steps not in _TEMPLATES:
        i, j = np.meshgrid(np.arange(steps + 1), np.arange(steps + 1), indexing="ij")
        keep = i + j <= steps
        a, b = i[keep] / steps, j[keep] / steps
        _TEMPLATES[steps] = np.stack([1 - a - b, a, b], axis=1)
    return _TEMPLATES[steps]


def render(
    triangles: np.ndarray,
    normals: np.ndarray,
    azimuth: float,
    elevation: float,
    size: int = PREVIEW_SIZE,
    cull_back_faces: bool = False,
) -> Image.Image:
    """Flat-shaded orthographic rendering with a z-buffer, in numpy: no OpenGL, any number of triangles.

    Each triangle is sampled on a barycentric grid fine enough for its size on screen, so tiny and huge
    triangles both cover their pixels; the nearest sample wins each pixel.
    """
    rotation = _rotation(azimuth, elevation)
    points = _transform(triangles.reshape(-1, 3), rotation)
    lo, hi = _bounds(points)
    span = max(hi[0] - lo[0], hi[2] - lo[2]) or 1.0
    margin = 0.06 * size
    scale = (size - 2 * margin) / span
    centre = (hi + lo) / 2
    flat = np.empty((len(points), 3))
    flat[:, 0] = (points[:, 0] - centre[0]) * scale + size / 2
    flat[:, 1] = size / 2 - (points[:, 2] - centre[2]) * scale
    flat[:, 2] = points[:, 1]
    screen = flat.reshape(-1, 3, 3)
    light = np.array([-0.35, -0.8, 0.5])
    light /= np.linalg.norm(light)
    rotated_normals = _transform(normals, rotation)
    shade = 0.3 + 0.7 * np.abs(
        _transform(rotated_normals, light[None, :])[:, 0]
    )  # two-sided: flipped faces still render
    base = np.array([70.0, 130.0, 200.0])
    colours = (base[None, :] * shade[:, None]).clip(0, 255).astype(np.uint8)

    edge1 = screen[:, 1, :2] - screen[:, 0, :2]
    edge2 = screen[:, 2, :2] - screen[:, 0, :2]
    edge3 = edge2 - edge1
    longest = np.maximum.reduce([np.abs(edge[:, axis]) for edge in (edge1, edge2, edge3) for axis in (0, 1)])
    # Grid divisions so samples are at most a pixel apart; triangles under two pixels get one sample
    # (their centroid) and the hole-filling pass below closes the gaps between them.
    steps = np.clip(np.floor(longest), 1, 2048).astype(np.int64)

    visible = rotated_normals[:, 1] < 0 if cull_back_faces else np.ones(len(steps), dtype=bool)
    steps = np.where(visible, steps, 0)
    depth_buffer = np.full(size * size, np.inf)
    pixel_parts, depth_parts, colour_parts = [], [], []
    for step in np.unique(steps[steps > 0]):
        chosen = np.nonzero(steps == step)[0]
        template = _barycentric_template(int(step)) if step > 1 else _CENTROID
        # Process in chunks to bound memory: at most about 4 million samples at once.
        chunk = max(1, 4_000_000 // len(template))
        for start in range(0, len(chosen), chunk):
            ids = chosen[start : start + chunk]
            # One matrix product places every sample of every chosen triangle: (P, 3) @ (3, f·3).
            corners = screen[ids].transpose(1, 0, 2).reshape(3, -1)
            samples = (template @ corners).reshape(len(template), len(ids), 3)  # (P, f, 3)
            x = samples[..., 0].astype(np.int64).ravel()
            y = samples[..., 1].astype(np.int64).ravel()
            inside = (x >= 0) & (x < size) & (y >= 0) & (y < size)
            pixel = (y * size + x)[inside]
            depth = samples[..., 2].ravel()[inside]
            face = np.tile(ids, len(template))[inside]
            np.minimum.at(depth_buffer, pixel, depth)
            pixel_parts.append(pixel)
            depth_parts.append(depth)
            colour_parts.append(face)
    image = np.empty((size * size, 3), dtype=np.uint8)
    image[:] = (245, 246, 248)
    if pixel_parts:
        pixel = np.concatenate(pixel_parts)
        depth = np.concatenate(depth_parts)
        face = np.concatenate(colour_parts)
        nearest = depth <= depth_buffer[pixel]
        image[pixel[nearest]] = colours[face[nearest]]
    return Image.fromarray(_fill_pinholes(image.reshape(size, size, 3), np.isfinite(depth_buffer).reshape(size, size)))


def _fill_pinholes(image: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Give an uncovered pixel the colour of a covered neighbour when most of its neighbours are covered."""
    padded = np.pad(covered, 1)
    neighbours = sum(
        padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx].astype(np.int8)
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if dy or dx
    )
    holes = ~covered & (neighbours >= 4)
    if not holes.any():
        return image
    result = image.copy()
    ys, xs = np.nonzero(holes)
    for dy, dx in ((0, -1), (0, 1), (-1, 0), (1, 0), (-1, -1), (1, 1), (-1, 1), (1, -1)):
        ny, nx = np.clip(ys + dy, 0, covered.shape[0] - 1), np.clip(xs + dx, 0, covered.shape[1] - 1)
        take = covered[ny, nx] & holes[ys, xs]
        result[ys[take], xs[take]] = image[ny[take], nx[take]]
        holes[ys[take], xs[take]] = False
    return result
