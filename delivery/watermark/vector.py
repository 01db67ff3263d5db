"""SVG and DXF watermark: the mesh carrier's keyed coordinate quantization, plus a metadata token.

Coordinates move by at most 0.002 drawing units (0.5 µm at 96 px/inch; 1 µm when the unit is a
millimetre). Equal values stay equal, so closed contours stay closed. Arc segments of SVG paths are
left alone (their flags may be written without separators). The metadata token carries the whole
codeword and survives anything that keeps metadata; the coordinates carry it through anything that
keeps the geometry's numbers, such as stripping metadata or re-serialising the XML.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np

from delivery.watermark import qim
from delivery.watermark.payload import token_find

STEP = 0.004
CELL = 0.1
LABEL = "vector"
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_SVG_COORDINATE_ATTRS = ("x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "width", "height")
_PATH_SEGMENT = re.compile(r"([MmLlHhVvCcSsQqTtAaZz])([^MmLlHhVvCcSsQqTtAaZz]*)")
SVG_NS = "http://www.w3.org/2000/svg"


def _fmt(value: float) -> str:
    return f"{value:.5f}".rstrip("0").rstrip(".") or "0"


# ------------------------------------------------------------------------------------------------ SVG


_Y_ATTRS = frozenset({"y", "y1", "y2", "cy", "height", "ry"})


def _svg_number_sites(root: Any) -> list[tuple[Any, str, list[tuple[re.Match[str], int]]]]:
    """Every coordinate number in the drawing, with its axis (0: x, 1: y) so x and y use separate keys."""
    sites = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for attr in _SVG_COORDINATE_ATTRS:
            value = element.get(attr)
            if value is not None and _NUMBER.fullmatch(value.strip().removesuffix("px")):
                sites.append((element, attr, [(m, int(attr in _Y_ATTRS)) for m in _NUMBER.finditer(value)]))
        for attr in ("d", "points"):
            value = element.get(attr)
            if value is None:
                continue
            if attr == "points":
                sites.append((element, attr, [(m, i % 2) for i, m in enumerate(_NUMBER.finditer(value))]))
                continue
            matches = []
            for segment in _PATH_SEGMENT.finditer(value):
                command = segment.group(1)
                if command in "Aa":
                    continue
                numbers = _NUMBER.finditer(value, segment.start(2), segment.end(2))
                fixed = 0 if command in "Hh" else 1 if command in "Vv" else None
                matches += [(m, fixed if fixed is not None else i % 2) for i, m in enumerate(numbers)]
            sites.append((element, attr, matches))
    return sites


def _svg_parse(data: bytes):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=False)
    return etree.fromstring(data, parser)


def _svg_values(root: Any) -> tuple[list[Any], np.ndarray, np.ndarray]:
    sites = _svg_number_sites(root)
    values = np.array([float(m.group(0)) for _e, _a, matches in sites for m, _axis in matches], dtype=np.float64)
    axes = np.array([axis for _e, _a, matches in sites for _m, axis in matches], dtype=np.int64)
    return sites, values, axes


def svg_embed(data: bytes, *, key: bytes, signs: np.ndarray, token: str, notice: str) -> tuple[bytes, dict[str, float]]:
    from lxml import etree

    root = _svg_parse(data)
    sites, values, axes = _svg_values(root)
    marked = qim.embed(values, axes, signs=signs, key=key, label=LABEL, step=STEP, cell=CELL)
    position = 0
    for element, attr, matches in sites:
        text = element.get(attr)
        pieces, last = [], 0
        for match, _axis in matches:
            pieces += [text[last : match.start()], _fmt(marked[position])]
            last = match.end()
            position += 1
        pieces.append(text[last:])
        element.set(attr, "".join(pieces))
    metadata = etree.Element(f"{{{SVG_NS}}}metadata" if root.tag.startswith("{") else "metadata")
    metadata.set("id", "tessera-licence")
    metadata.text = f"{notice} {token}"
    root.insert(0, metadata)
    result = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    moved = float(np.abs(marked - values).max(initial=0.0))
    return result, {"max_displacement_units": round(moved, 6), "coordinates": len(values)}


def svg_soft_bits(data: bytes, *, key: bytes) -> tuple[np.ndarray | None, np.ndarray]:
    """(soft bits from the metadata token or None, soft bits from the coordinates)."""
    root = _svg_parse(data)
    text = " ".join(t for t in root.itertext())
    _sites, values, axes = _svg_values(root)
    coords = qim.soft_bits(values, axes, key=key, label=LABEL, step=STEP, cell=CELL)[0]
    return token_find(text), coords


# ------------------------------------------------------------------------------------------------ DXF


def _dxf_read(data: bytes):
    from ezdxf import recover

    doc, _auditor = recover.read(io.BytesIO(data))
    return doc


def _dxf_points(doc) -> list[tuple[object, str, int | None]]:
    """(entity, attribute, index) for every coordinate-bearing attribute in model space."""
    sites: list[tuple[object, str, int | None]] = []
    for entity in doc.modelspace():
        kind = entity.dxftype()
        if kind == "LINE":
            sites += [(entity, "start", None), (entity, "end", None)]
        elif kind in ("CIRCLE", "ARC", "ELLIPSE"):
            sites.append((entity, "center", None))
        elif kind == "POINT":
            sites.append((entity, "location", None))
        elif kind == "LWPOLYLINE":
            sites += [(entity, "lwpoints", i) for i in range(len(entity))]
        elif kind == "POLYLINE":
            sites += [(vertex, "location", None) for vertex in entity.vertices]
        elif kind == "SPLINE":
            sites += [(entity, "control_points", i) for i in range(len(entity.control_points))]
    return sites


def _dxf_get(site) -> tuple[float, float]:
    entity, attr, index = site
    if attr == "lwpoints":
        x, y = entity.get_points("xy")[index]
        return float(x), float(y)
    if attr == "control_points":
        point = entity.control_points[index]
        return float(point[0]), float(point[1])
    point = entity.dxf.get(attr)
    return float(point[0]), float(point[1])


def _dxf_values(doc) -> tuple[list, np.ndarray]:
    sites = _dxf_points(doc)
    return sites, np.array([_dxf_get(site) for site in sites], dtype=np.float64).reshape(-1, 2)


def dxf_embed(data: bytes, *, key: bytes, signs: np.ndarray, token: str, notice: str) -> tuple[bytes, dict[str, float]]:
    doc = _dxf_read(data)
    sites, values = _dxf_values(doc)
    axes = np.broadcast_to(np.arange(2), values.shape)
    marked = qim.embed(values, axes, signs=signs, key=key, label=LABEL, step=STEP, cell=CELL)
    lw_updates: dict[int, tuple[Any, list[list[float]]]] = {}
    for (entity, attr, index), (x, y) in zip(sites, marked, strict=True):
        if attr == "lwpoints":
            entry = lw_updates.setdefault(id(entity), (entity, [list(p) for p in entity.get_points("xyseb")]))
            entry[1][index][0], entry[1][index][1] = float(x), float(y)
        elif attr == "control_points":
            points = list(entity.control_points)
            old = points[index]
            points[index] = (float(x), float(y), float(old[2]) if len(old) > 2 else 0.0)
            entity.control_points = points
        else:
            old = entity.dxf.get(attr)
            entity.dxf.set(attr, (float(x), float(y), float(old[2]) if len(old) > 2 else 0.0))
    for entity, points in lw_updates.values():
        entity.set_points([tuple(p) for p in points], format="xyseb")
    doc.header.custom_vars.append("TESSERA_LICENCE", f"{notice} {token}")
    stream = io.StringIO()
    doc.write(stream)
    moved = float(np.abs(marked - values).max(initial=0.0))
    return stream.getvalue().encode(doc.output_encoding or "utf-8"), {
        "max_displacement_units": round(moved, 6),
        "coordinates": int(values.size),
    }


def dxf_soft_bits(data: bytes, *, key: bytes) -> tuple[np.ndarray | None, np.ndarray]:
    doc = _dxf_read(data)
    token = None
    for _tag, value in doc.header.custom_vars:
        token = token if token is not None else token_find(str(value))
    _sites, values = _dxf_values(doc)
    axes = np.broadcast_to(np.arange(2), values.shape)
    coords = qim.soft_bits(values, axes, key=key, label=LABEL, step=STEP, cell=CELL)[0]
    return token, coords
