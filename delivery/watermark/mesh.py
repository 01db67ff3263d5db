"""Mesh watermark: keyed quantization of every vertex coordinate, written back in the file's own format.

Coordinates are taken to be millimetres (3MF files say their unit and it is honoured). With a lattice
step of 1.1 µm each coordinate moves at most 0.55 µm, so a vertex moves at most 0.95 µm. Only the
numbers of vertex positions change: faces, normals' order, colours, materials and everything else in
the file are kept. Reading the mark needs the coordinates in the original frame: a file that was only
re-exported is read as it is; one that was moved, rotated or uniformly scaled is first registered onto
the original (found by its shape descriptor) with a similarity transform.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from delivery.watermark import qim

STEP_MM = 0.0011
CELL_MM = 0.05
LABEL = "mesh"
UNIT_MM = {"micron": 0.001, "millimeter": 1.0, "centimeter": 10.0, "meter": 1000.0, "inch": 25.4, "foot": 304.8}
_NUMBER = rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _qim_xyz(xyz: np.ndarray, *, signs: np.ndarray, key: bytes, unit_mm: float = 1.0) -> np.ndarray:
    axes = np.broadcast_to(np.arange(3), xyz.shape)
    return qim.embed(xyz, axes, signs=signs, key=key, label=LABEL, step=STEP_MM / unit_mm, cell=CELL_MM / unit_mm)


def _fmt(value: float) -> bytes:
    return (b"%.7f" % value).rstrip(b"0").rstrip(b".") or b"0"


# ---------------------------------------------------------------- format-preserving readers and writers

_STL_RECORD = np.dtype([("normal", "<f4", 3), ("vertices", "<f4", (3, 3)), ("attr", "<u2")])


def _is_binary_stl(data: bytes) -> bool:
    if len(data) < 84:
        return False
    count = int.from_bytes(data[80:84], "little")
    return len(data) == 84 + 50 * count


def _text_vertex_lines(data: bytes, prefix: bytes) -> tuple[list[re.Match[bytes]], np.ndarray]:
    pattern = re.compile(
        rb"(?m)^([ \t]*" + prefix + rb"[ \t]+)(" + _NUMBER + rb")[ \t]+(" + _NUMBER + rb")[ \t]+(" + _NUMBER + rb")"
    )
    matches = list(pattern.finditer(data))
    xyz = np.array([[float(m.group(2)), float(m.group(3)), float(m.group(4))] for m in matches], dtype=np.float64)
    return matches, xyz.reshape(-1, 3)


def _rewrite_text(data: bytes, matches: list[re.Match[bytes]], xyz: np.ndarray) -> bytes:
    out, last = [], 0
    for match, (x, y, z) in zip(matches, xyz, strict=True):
        out += [data[last : match.start()], match.group(1), _fmt(x), b" ", _fmt(y), b" ", _fmt(z)]
        last = match.end()
    out.append(data[last:])
    return b"".join(out)


_3MF_VERTEX = re.compile(rb"<vertex\b[^>]*?/?>")
_3MF_ATTR = re.compile(rb'\b([xyz])\s*=\s*"(' + _NUMBER + rb')"')


def _3mf_model_name(archive: zipfile.ZipFile) -> str:
    for name in archive.namelist():
        if name.lower().endswith(".model"):
            return name
    raise ValueError("The 3MF package has no model part.")


def _3mf_unit(model: bytes) -> float:
    match = re.search(rb'<model\b[^>]*\bunit\s*=\s*"([a-z]+)"', model)
    return UNIT_MM.get(match.group(1).decode(), 1.0) if match else 1.0


def _3mf_vertices(model: bytes) -> tuple[list[re.Match[bytes]], np.ndarray]:
    matches = list(_3MF_VERTEX.finditer(model))
    xyz = np.zeros((len(matches), 3))
    for i, match in enumerate(matches):
        for attr in _3MF_ATTR.finditer(match.group(0)):
            xyz[i, b"xyz".index(attr.group(1))] = float(attr.group(2))
    return matches, xyz


def _3mf_rewrite(model: bytes, matches: list[re.Match[bytes]], xyz: np.ndarray) -> bytes:
    out, last = [], 0
    for match, row in zip(matches, xyz, strict=True):

        def replace(attr: re.Match[bytes], row: np.ndarray = row) -> bytes:
            return attr.group(1) + b'="' + _fmt(row[b"xyz".index(attr.group(1))]) + b'"'

        tag = _3MF_ATTR.sub(replace, match.group(0))
        out += [model[last : match.start()], tag]
        last = match.end()
    out.append(model[last:])
    return b"".join(out)


def embed(data: bytes, *, file_format: str, key: bytes, signs: np.ndarray) -> tuple[bytes, dict[str, float]]:
    """Mark a mesh file; returns the new bytes and the largest vertex displacement in micrometres."""
    if file_format == "stl" and _is_binary_stl(data):
        records = np.frombuffer(data, dtype=_STL_RECORD, offset=84).copy()
        before = records["vertices"].astype(np.float64)
        after = _qim_xyz(before, signs=signs, key=key)
        records["vertices"] = after.astype(np.float32)
        result = data[:84] + records.tobytes()
        moved = np.abs(records["vertices"].astype(np.float64) - before)
        unit_mm = 1.0
    elif file_format in ("stl", "obj"):
        matches, before = _text_vertex_lines(data, b"vertex" if file_format == "stl" else b"v")
        if not len(matches):
            raise ValueError("No vertices found.")
        after = _qim_xyz(before, signs=signs, key=key)
        result = _rewrite_text(data, matches, after)
        moved = np.abs(after - before)
        unit_mm = 1.0
    elif file_format == "ply":
        result, moved = _embed_ply(data, signs=signs, key=key)
        unit_mm = 1.0
    elif file_format == "3mf":
        source = zipfile.ZipFile(io.BytesIO(data))
        name = _3mf_model_name(source)
        model = source.read(name)
        unit_mm = _3mf_unit(model)
        matches, before = _3mf_vertices(model)
        after = _qim_xyz(before, signs=signs, key=key, unit_mm=unit_mm)
        marked_model = _3mf_rewrite(model, matches, after)
        moved = np.abs(after - before)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                target.writestr(info, marked_model if info.filename == name else source.read(info.filename))
        result = out.getvalue()
    else:
        raise ValueError(f"Cannot mark {file_format} meshes.")
    displacement_um = float(np.sqrt((moved.reshape(-1, 3) ** 2).sum(axis=1)).max(initial=0.0)) * unit_mm * 1000
    return result, {"max_displacement_um": round(displacement_um, 4)}


def _embed_ply(data: bytes, *, signs: np.ndarray, key: bytes) -> tuple[bytes, np.ndarray]:
    import trimesh

    mesh: Any = trimesh.load(io.BytesIO(data), file_type="ply", process=False, force="mesh")
    before = np.asarray(mesh.vertices, dtype=np.float64)
    after = _qim_xyz(before, signs=signs, key=key)
    mesh.vertices = after
    encoding = "ascii" if data[:64].find(b"format ascii") >= 0 else "binary"
    exported = mesh.export(file_type="ply", encoding=encoding)
    reloaded: Any = trimesh.load(io.BytesIO(exported), file_type="ply", process=False, force="mesh")
    stored = reloaded.vertices
    return exported, np.abs(np.asarray(stored, dtype=np.float64) - before)


# ---------------------------------------------------------------- reading


def vertices(data: bytes, *, file_format: str) -> tuple[np.ndarray, float]:
    """Unique vertex positions of any mesh file (in the file's units) and the unit in millimetres."""
    if file_format == "3mf":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            model = archive.read(_3mf_model_name(archive))
        return np.unique(_3mf_vertices(model)[1], axis=0), _3mf_unit(model)
    if file_format == "stl" and _is_binary_stl(data):
        records = np.frombuffer(data, dtype=_STL_RECORD, offset=84)
        return np.unique(records["vertices"].reshape(-1, 3).astype(np.float64), axis=0), 1.0
    if file_format in ("stl", "obj"):
        return np.unique(_text_vertex_lines(data, b"vertex" if file_format == "stl" else b"v")[1], axis=0), 1.0
    import trimesh

    mesh: Any = trimesh.load(io.BytesIO(data), file_type=file_format, process=False, force="mesh")
    return np.unique(np.asarray(mesh.vertices, dtype=np.float64), axis=0), 1.0


def soft_bits_in_frame(xyz: np.ndarray, *, key: bytes, unit_mm: float = 1.0) -> np.ndarray:
    axes = np.broadcast_to(np.arange(3), xyz.shape)
    return qim.soft_bits(xyz, axes, key=key, label=LABEL, step=STEP_MM / unit_mm, cell=CELL_MM / unit_mm)[0]


@dataclass(frozen=True)
class Registration:
    scale: float
    rotation: np.ndarray
    translation: np.ndarray
    rms_error_mm: float


def _umeyama(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The similarity transform (s, R, t) minimising |s R source + t − target|."""
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    src, tgt = source - mu_s, target - mu_t
    covariance = tgt.T @ src / len(source)
    u, d, vt = np.linalg.svd(covariance)
    correction = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        correction[2, 2] = -1
    rotation = u @ correction @ vt
    scale = float(np.trace(np.diag(d) @ correction) / (src**2).sum(axis=1).mean())
    return scale, rotation, mu_t - scale * rotation @ mu_s


def register(suspect: np.ndarray, original: np.ndarray) -> Registration | None:
    """Bring the suspect's vertices onto the original's frame (translation, rotation, uniform scale)."""
    if len(suspect) < 4 or len(original) < 4:
        return None
    tree = cKDTree(original)

    def principal(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        centre = points.mean(axis=0)
        centred = points - centre
        size = float(np.sqrt((centred**2).sum(axis=1).mean()))
        _w, axes = np.linalg.eigh(centred.T @ centred)
        return centre, axes, size

    c_s, axes_s, size_s = principal(suspect)
    c_o, axes_o, size_o = principal(original)
    if size_s == 0 or size_o == 0:
        return None
    best: tuple[float, float, np.ndarray, np.ndarray] | None = None
    sample = suspect[np.linspace(0, len(suspect) - 1, min(len(suspect), 4000)).astype(int)]
    # Principal axes are known up to sign: try every sign choice that gives a proper rotation (and identity).
    candidates = [np.eye(3)]
    for flips in itertools.product((1, -1), repeat=3):
        candidate = axes_o @ np.diag(flips) @ axes_s.T
        if np.linalg.det(candidate) > 0:
            candidates.append(candidate)

    def icp(points: np.ndarray, fit: tuple[float, np.ndarray, np.ndarray], rounds: int, inliers: float):
        """Iterative closest points from ``fit``; returns (rms error, scale, rotation, translation)."""
        scale, rotation, translation = fit
        for _ in range(rounds):
            distance, index = tree.query((scale * (rotation @ points.T)).T + translation)
            keep = distance <= np.quantile(distance, inliers) + 1e-12
            scale, rotation, translation = _umeyama(points[keep], original[index[keep]])
        error = float(np.sqrt(np.mean(tree.query((scale * (rotation @ points.T)).T + translation)[0] ** 2)))
        return error, scale, rotation, translation

    for rotation in candidates:
        scale = size_o / size_s
        attempt = icp(sample, (scale, rotation, c_o - scale * rotation @ c_s), rounds=30, inliers=0.9)
        if best is None or attempt[0] < best[0]:
            best = attempt
    if best is None:
        return None
    # Final fit on every vertex, now that correspondences are unambiguous.
    error, scale, rotation, translation = icp(suspect, best[1:], rounds=3, inliers=0.95)
    return Registration(scale=scale, rotation=rotation, translation=translation, rms_error_mm=error)


def soft_bits(suspect: bytes, *, file_format: str, key: bytes, original: tuple[bytes, str] | None) -> np.ndarray:
    """Soft codeword bits from a suspect mesh; ``original`` (bytes, format) allows undoing a move."""
    xyz, unit_mm = vertices(suspect, file_format=file_format)
    direct = soft_bits_in_frame(xyz, key=key, unit_mm=unit_mm)
    if original is None:
        return direct
    reference, reference_unit = vertices(original[0], file_format=original[1])
    registration = register(xyz, reference)
    if registration is None:
        return direct
    aligned = (registration.scale * (registration.rotation @ xyz.T)).T + registration.translation
    moved = soft_bits_in_frame(aligned, key=key, unit_mm=reference_unit)
    return moved if np.abs(moved).sum() > np.abs(direct).sum() else direct
