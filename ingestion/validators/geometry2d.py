"""2D cut geometry: SVG shapes and path data flattened to polylines in millimetres, and the checks
that matter to a laser or CNC cutter (open contours, zero-length and duplicate segments, cut length)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

import numpy as np

Matrix = np.ndarray  # 3×3 affine
CURVE_SEGMENTS = 16

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"([MmLlHhVvCcSsQqTtAaZz])|({_NUMBER})")
_TRANSFORM = re.compile(r"(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^)]*)\)")


@dataclass
class Drawing:
    """Polylines in millimetres; ``closed`` marks polylines whose last point joins the first."""

    polylines: list[np.ndarray] = field(default_factory=list)
    closed: list[bool] = field(default_factory=list)

    def add(self, points: list[tuple[float, float]] | np.ndarray, closed: bool) -> None:
        array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(array) >= 2 or (closed and len(array) >= 1):
            self.polylines.append(array)
            self.closed.append(closed)


def _numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(_NUMBER, text or "")]


def parse_transform(text: str | None) -> Matrix:
    matrix = np.eye(3)
    for name, raw in _TRANSFORM.findall(text or ""):
        values = _numbers(raw)
        step = np.eye(3)
        if name == "matrix" and len(values) == 6:
            a, b, c, d, e, f = values
            step = np.array([[a, c, e], [b, d, f], [0, 0, 1]])
        elif name == "translate" and values:
            step[0, 2], step[1, 2] = values[0], values[1] if len(values) > 1 else 0.0
        elif name == "scale" and values:
            step[0, 0], step[1, 1] = values[0], values[1] if len(values) > 1 else values[0]
        elif name == "rotate" and values:
            angle = math.radians(values[0])
            cx, cy = (values[1], values[2]) if len(values) == 3 else (0.0, 0.0)
            cos, sin = math.cos(angle), math.sin(angle)
            step = np.array([[cos, -sin, cx - cos * cx + sin * cy], [sin, cos, cy - sin * cx - cos * cy], [0, 0, 1]])
        elif name == "skewX" and values:
            step[0, 1] = math.tan(math.radians(values[0]))
        elif name == "skewY" and values:
            step[1, 0] = math.tan(math.radians(values[0]))
        matrix = matrix @ step
    return matrix


def _bezier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    control = np.asarray(points)
    t = np.linspace(0, 1, CURVE_SEGMENTS + 1)[1:, None]
    if len(control) == 3:
        curve = (1 - t) ** 2 * control[0] + 2 * (1 - t) * t * control[1] + t**2 * control[2]
    else:
        curve = (
            (1 - t) ** 3 * control[0]
            + 3 * (1 - t) ** 2 * t * control[1]
            + 3 * (1 - t) * t**2 * control[2]
            + t**3 * control[3]
        )
    return [tuple(p) for p in curve]


def _arc(start: tuple[float, float], values: list[float]) -> list[tuple[float, float]]:
    """Endpoint-parameterised elliptical arc (SVG 1.1 F.6.5), flattened."""
    rx, ry, rotation, large, sweep, x2, y2 = values
    x1, y1 = start
    if rx == 0 or ry == 0 or (x1, y1) == (x2, y2):
        return [(x2, y2)]
    rx, ry = abs(rx), abs(ry)
    phi = math.radians(rotation)
    cos, sin = math.cos(phi), math.sin(phi)
    dx, dy = (x1 - x2) / 2, (y1 - y2) / 2
    x1p, y1p = cos * dx + sin * dy, -sin * dx + cos * dy
    scale = x1p**2 / rx**2 + y1p**2 / ry**2
    if scale > 1:
        rx, ry = rx * math.sqrt(scale), ry * math.sqrt(scale)
    numerator = max(0.0, rx**2 * ry**2 - rx**2 * y1p**2 - ry**2 * x1p**2)
    factor = math.sqrt(numerator / (rx**2 * y1p**2 + ry**2 * x1p**2)) * (-1 if large == sweep else 1)
    cxp, cyp = factor * rx * y1p / ry, -factor * ry * x1p / rx
    cx, cy = cos * cxp - sin * cyp + (x1 + x2) / 2, sin * cxp + cos * cyp + (y1 + y2) / 2
    theta1 = math.atan2((y1p - cyp) / ry, (x1p - cxp) / rx)
    theta2 = math.atan2((-y1p - cyp) / ry, (-x1p - cxp) / rx)
    delta = theta2 - theta1
    if sweep and delta < 0:
        delta += 2 * math.pi
    elif not sweep and delta > 0:
        delta -= 2 * math.pi
    points = []
    for t in np.linspace(0, 1, CURVE_SEGMENTS + 1)[1:]:
        angle = theta1 + delta * t
        px, py = rx * math.cos(angle), ry * math.sin(angle)
        points.append((cos * px - sin * py + cx, sin * px + cos * py + cy))
    return points


def parse_path_data(data: str) -> list[tuple[list[tuple[float, float]], bool]]:
    """SVG path ``d`` → [(points, closed)], curves flattened. Malformed tails are ignored, as browsers do."""
    tokens = [(cmd, float(num) if num else None) for cmd, num in _TOKEN.findall(data or "")]
    subpaths: list[tuple[list[tuple[float, float]], bool]] = []
    current: list[tuple[float, float]] = []
    x = y = start_x = start_y = 0.0
    last_control: tuple[float, float] | None = None
    command = ""
    index = 0
    arity = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "A": 7, "Z": 0}

    def flush(closed: bool) -> None:
        nonlocal current
        if len(current) >= 2:
            subpaths.append((current, closed))
        current = []

    while index < len(tokens):
        letter, _ = tokens[index]
        if letter:
            command = letter
            index += 1
            if command in "Zz":
                if current:
                    flush(True)
                x, y = start_x, start_y
                last_control = None
                continue
        if not command:
            break
        upper = command.upper()
        count = arity[upper]
        values = [number for _, number in tokens[index : index + count]]
        if len(values) < count or any(v is None for v in values):
            break
        index += count
        relative = command.islower()
        args = [float(v) for v in values if v is not None]
        if upper == "M":
            flush(False)
            x, y = (x + args[0], y + args[1]) if relative else (args[0], args[1])
            start_x, start_y = x, y
            current = [(x, y)]
            command = "l" if relative else "L"
            last_control = None
            continue
        if not current:
            current = [(x, y)]
        if upper == "L":
            x, y = (x + args[0], y + args[1]) if relative else (args[0], args[1])
            current.append((x, y))
            last_control = None
        elif upper == "H":
            x = x + args[0] if relative else args[0]
            current.append((x, y))
            last_control = None
        elif upper == "V":
            y = y + args[0] if relative else args[0]
            current.append((x, y))
            last_control = None
        elif upper in "CSQT":
            offset = (x, y) if relative else (0.0, 0.0)
            pts = [(args[i] + offset[0], args[i + 1] + offset[1]) for i in range(0, len(args), 2)]
            if upper in "ST":
                reflected = (2 * x - last_control[0], 2 * y - last_control[1]) if last_control else (x, y)
                pts = [reflected, *pts]
            current.extend(_bezier([(x, y), *pts]))
            last_control = pts[-2]
            x, y = pts[-1]
        elif upper == "A":
            end = (x + args[5], y + args[6]) if relative else (args[5], args[6])
            current.extend(_arc((x, y), [*args[:5], *end]))
            x, y = end
            last_control = None
    flush(False)
    return subpaths


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> list[tuple[float, float]]:
    angles = np.linspace(0, 2 * math.pi, 4 * CURVE_SEGMENTS, endpoint=False)
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def _attr(element: Element, name: str) -> float:
    values = _numbers(element.get(name, "0"))
    return values[0] if values else 0.0


def svg_drawing(root: Element, unit_to_mm: Matrix) -> Drawing:
    """Flatten every shape under ``root``; ``unit_to_mm`` maps user units (after viewBox) to millimetres."""
    drawing = Drawing()

    def visit(element: Element, matrix: Matrix) -> None:
        name = element.tag.rsplit("}", 1)[-1]
        if name in ("defs", "clipPath", "mask", "symbol", "metadata", "title", "desc", "style", "pattern"):
            return
        matrix = matrix @ parse_transform(element.get("transform"))
        shapes: list[tuple[list[tuple[float, float]], bool]] = []
        if name == "path":
            shapes = parse_path_data(element.get("d", ""))
        elif name == "line":
            shapes = [
                ([(_attr(element, "x1"), _attr(element, "y1")), (_attr(element, "x2"), _attr(element, "y2"))], False)
            ]
        elif name in ("polyline", "polygon"):
            values = _numbers(element.get("points", ""))
            points = list(zip(values[0::2], values[1::2], strict=False))
            shapes = [(points, name == "polygon")]
        elif name == "rect":
            x, y, w, h = (_attr(element, a) for a in ("x", "y", "width", "height"))
            if w > 0 and h > 0:
                shapes = [([(x, y), (x + w, y), (x + w, y + h), (x, y + h)], True)]
        elif name == "circle":
            r = _attr(element, "r")
            if r > 0:
                shapes = [(_ellipse(_attr(element, "cx"), _attr(element, "cy"), r, r), True)]
        elif name == "ellipse":
            rx, ry = _attr(element, "rx"), _attr(element, "ry")
            if rx > 0 and ry > 0:
                shapes = [(_ellipse(_attr(element, "cx"), _attr(element, "cy"), rx, ry), True)]
        for points, closed in shapes:
            if not points:
                continue
            homogeneous = np.column_stack([np.asarray(points, dtype=np.float64), np.ones(len(points))])
            drawing.add((homogeneous @ matrix.T)[:, :2], closed)
        for child in element:
            visit(child, matrix)

    visit(root, unit_to_mm)
    return drawing


@dataclass
class CutStats:
    cut_length_mm: float
    open_ends: int
    zero_length_segments: int
    duplicate_segments: int
    segment_count: int


def analyse(drawing: Drawing, tolerance_mm: float = 0.01) -> CutStats:
    segments = []
    for polyline, closed in zip(drawing.polylines, drawing.closed, strict=True):
        points = np.vstack([polyline, polyline[:1]]) if closed and len(polyline) > 1 else polyline
        if len(points) >= 2:
            segments.append(np.stack([points[:-1], points[1:]], axis=1))
    if not segments:
        return CutStats(0.0, 0, 0, 0, 0)
    all_segments = np.concatenate(segments)  # (S, 2, 2)
    lengths = np.linalg.norm(all_segments[:, 1] - all_segments[:, 0], axis=1)
    zero = lengths < 1e-6
    snapped = np.round(all_segments / tolerance_mm).astype(np.int64)
    real = snapped[~zero]
    real = real[~np.all(real[:, 0] == real[:, 1], axis=1)]
    # Undirected segment keys: the two endpoints in sorted order.
    a, b = real[:, 0], real[:, 1]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    first = np.where(swap[:, None], b, a)
    second = np.where(swap[:, None], a, b)
    keys = Counter(map(tuple, np.hstack([first, second]).tolist()))
    duplicates = sum(count - 1 for count in keys.values())
    # An endpoint used by an odd number of distinct segments ends an open contour.
    degree: Counter[tuple[int, int]] = Counter()
    for key in keys:
        degree[(key[0], key[1])] += 1
        degree[(key[2], key[3])] += 1
    open_ends = sum(1 for count in degree.values() if count % 2 == 1)
    return CutStats(
        cut_length_mm=round(float(lengths.sum()), 2),
        open_ends=open_ends,
        zero_length_segments=int(zero.sum()),
        duplicate_segments=duplicates,
        segment_count=len(all_segments),
    )
