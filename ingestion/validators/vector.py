"""SVG and DXF cutting files: safe parsing, cut geometry checks, document size, preview through resvg."""

from __future__ import annotations

import io
import re
from pathlib import Path
from xml.etree.ElementTree import Element, TreeBuilder

import defusedxml.ElementTree as SafeET
import ezdxf
import numpy as np
import resvg_py
from defusedxml import DefusedXmlException
from ezdxf import recover
from ezdxf.addons.drawing import Frontend, RenderContext, layout, svg
from ezdxf.addons.drawing.config import BackgroundPolicy, ColorPolicy, Configuration
from PIL import Image

from . import geometry2d
from .base import FileRejected, Report, fit_preview

_LENGTH = re.compile(r"^\s*([0-9.eE+-]+)\s*(mm|cm|in|px|pt|pc|m)?\s*$")
_MM_PER_UNIT = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4, "px": 25.4 / 96, "pt": 25.4 / 72, "pc": 25.4 / 6}
FLATTEN_DISTANCE_MM = 0.05


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# Animation elements can rewrite any attribute after load; animating a link or a style is how a
# harmless-looking <a href="#x"> becomes javascript: in a browser, so those targets are refused outright
# (whatever the values say: browsers strip tabs and newlines inside URLs, which defeats value matching).
_ANIMATIONS = {"set", "animate", "animatetransform", "animatemotion", "animatecolor"}
_ANIMATED_FORBIDDEN = {"href", "style"}
# data: URIs a cutting file may embed: raster images (and fonts in CSS). Anything else (text/html,
# image/svg+xml, application/*) is a document a browser may run.
_SAFE_DATA = re.compile(
    r"^data:(?:image/(?:png|jpe?g|gif|webp)|font/[a-z0-9.+-]+|application/(?:x-)?font-[a-z0-9.+-]+)[;,]", re.I
)
_URL_NOISE = re.compile(r"[\x00-\x20]")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})\s?|(.))", re.S)
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.I | re.S)
_CSS_IMAGE_SET = re.compile(r"image-set\(([^)]*)\)", re.I | re.S)
_CSS_STRING = re.compile(r"(['\"])(.*?)\1", re.S)


class _Builder(TreeBuilder):
    """Keeps the targets of processing instructions, which ElementTree otherwise drops (even before <svg>)."""

    def __init__(self) -> None:
        super().__init__()
        self.pi_targets: list[str] = []

    def pi(self, target: str, data: str | None = None) -> Element:
        self.pi_targets.append(target)
        return super().pi(target, data)


def _css_unescape(css: str) -> str:
    """CSS with comments removed and escapes decoded, so ``u\\72l(`` or ``@\\69mport`` cannot hide a URL."""

    def decode(match: re.Match[str]) -> str:
        if match.group(1):
            code = int(match.group(1), 16)
            return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"
        return match.group(2)

    return _CSS_ESCAPE.sub(decode, _CSS_COMMENT.sub("", css))


def _url_kind(url: str) -> str | None:
    """``None`` for a same-document fragment or an embedded raster image; else the finding code it earns."""
    compact = _URL_NOISE.sub("", url)
    if compact.startswith("#"):
        return None
    if compact.lower().startswith("data:"):
        return None if _SAFE_DATA.match(compact) else "svg.unsafe_data_uri"
    return "svg.external_reference"


def _check_url(url: str, where: str) -> None:
    kind = _url_kind(url)
    if kind == "svg.unsafe_data_uri":
        raise FileRejected(
            f"The SVG embeds a data: document that is not an image ({url.strip()[:60]}) in {where}. "
            "Only PNG, JPEG, GIF or WebP images may be embedded; remove it.",
            kind,
        )
    if kind:
        raise FileRejected(
            f"The SVG refers to an external resource ({url.strip()[:80]}) in {where}. Embed or remove it.", kind
        )


def _check_css(css: str, where: str) -> None:
    """Refuse @import and any url()/image-set() that leaves the document (external or a non-image data: URI)."""
    plain = _css_unescape(css)
    if re.search(r"@import", plain, re.I):
        raise FileRejected(
            f"The SVG imports a stylesheet (@import) in {where}. Put the styles in the file itself.",
            "svg.external_reference",
        )
    for match in _CSS_URL.finditer(plain):
        _check_url(match.group(2), where)
    for match in _CSS_IMAGE_SET.finditer(plain):
        for string in _CSS_STRING.finditer(match.group(1)):
            _check_url(string.group(2), where)


def _parse_svg(path: Path) -> Element:
    builder = _Builder()
    try:
        parser = SafeET.DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        root = SafeET.parse(str(path), parser=parser).getroot()
    except DefusedXmlException as exc:
        raise FileRejected(
            "The SVG declares a DTD or entities, which can be used to attack XML readers. Save it again as plain SVG.",
            "svg.dtd_or_entities",
        ) from exc
    except SafeET.ParseError as exc:
        raise FileRejected(f"The SVG is not well-formed XML ({exc}). Export it again.", "svg.malformed") from exc
    if any(target.lower() == "xml-stylesheet" for target in builder.pi_targets):
        raise FileRejected(
            "The SVG links a stylesheet with <?xml-stylesheet?>, which a browser fetches and applies. "
            "Remove the instruction and keep the styles inside the file.",
            "svg.xml_stylesheet",
        )
    if _local(root.tag) != "svg":
        raise FileRejected("The XML file's root element is not <svg>.", "svg.not_svg")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # a processing instruction or comment inside the document
        name = _local(element.tag)
        if name == "script":
            raise FileRejected(
                "The SVG contains a <script>. Cutting files must not carry code; remove it.", "svg.script"
            )
        if name == "foreignObject":
            raise FileRejected(
                "The SVG contains a <foreignObject> (embedded HTML). Remove it and upload again.", "svg.foreign_object"
            )
        if name.lower() in _ANIMATIONS:
            target = _local(element.get("attributeName", "")).rsplit(":", 1)[-1].strip().lower()
            if target in _ANIMATED_FORBIDDEN or target.startswith("on"):
                raise FileRejected(
                    f"The SVG has a <{name}> that changes the {target} attribute after loading, which can turn a "
                    "link into javascript:. Remove the animation.",
                    "svg.animated_link",
                )
        for attribute, value in element.attrib.items():
            attr = _local(attribute)
            if attr.lower().startswith("on"):
                raise FileRejected(
                    f"The SVG has an event handler ({attr}) on <{name}>. Remove scripting and upload again.",
                    "svg.event_handler",
                )
            if attr == "href":
                _check_url(value, f"the href of <{name}>")
            elif "url(" in value.lower() or "@import" in value.lower() or "\\" in value or attr == "style":
                # Presentation attributes (fill, filter, clip-path, ...) take CSS values too.
                _check_css(value, f"the {attr} attribute of <{name}>")
        if name == "style" and element.text:
            _check_css(element.text, "the <style> element")
    return root


def _length(value: str | None) -> tuple[float, str | None] | None:
    match = _LENGTH.match(value or "")
    if not match:
        return None
    return float(match.group(1)), match.group(2)


def _svg_unit_matrix(root: Element, report: Report) -> np.ndarray:
    """User units → millimetres, from width/height and viewBox."""
    view_box = [float(v) for v in re.findall(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", root.get("viewBox", ""))]
    width, height = _length(root.get("width")), _length(root.get("height"))
    physical = bool(width and width[1] not in (None, "px") and height and height[1] not in (None, "px"))
    if not physical:
        report.add(
            "svg.no_physical_size",
            "The SVG gives no width and height in mm, cm or inches, so the cut size assumes 96 pixels per inch. "
            "Set the document size in physical units.",
        )
    vb_x, vb_y, vb_w, vb_h = view_box if len(view_box) == 4 and view_box[2] > 0 and view_box[3] > 0 else (0, 0, 0, 0)
    width_mm = width[0] * _MM_PER_UNIT[width[1] or "px"] if width else (vb_w * _MM_PER_UNIT["px"] if vb_w else None)
    height_mm = height[0] * _MM_PER_UNIT[height[1] or "px"] if height else (vb_h * _MM_PER_UNIT["px"] if vb_h else None)
    report.properties["width_mm"] = round(width_mm, 2) if width_mm else None
    report.properties["height_mm"] = round(height_mm, 2) if height_mm else None
    matrix = np.eye(3)
    if vb_w and width_mm and height_mm:
        matrix[0, 0], matrix[1, 1] = width_mm / vb_w, height_mm / vb_h
        matrix[0, 2], matrix[1, 2] = -vb_x * matrix[0, 0], -vb_y * matrix[1, 1]
    else:
        matrix[0, 0] = matrix[1, 1] = _MM_PER_UNIT["px"]
    return matrix


def quick_check(path: Path, fmt: str) -> None:
    if fmt == "svg":
        _parse_svg(path)
    else:
        _read_dxf(path)


def _read_dxf(path: Path) -> ezdxf.document.Drawing:
    try:
        document, auditor = recover.readfile(str(path))
    except (OSError, ezdxf.DXFStructureError, ValueError, UnicodeDecodeError) as exc:
        raise FileRejected(
            "The DXF file is damaged and could not be recovered. Export it again.", "dxf.unrecoverable"
        ) from exc
    if auditor.has_errors:
        raise FileRejected(
            f"The DXF file has {len(auditor.errors)} unrecoverable structural errors. Export it again.",
            "dxf.unrecoverable",
        )
    return document


def _dxf_drawing(document: ezdxf.document.Drawing) -> geometry2d.Drawing:
    from ezdxf import path as dxf_path
    from ezdxf import units

    factor = (
        units.conversion_factor(units.InsertUnits(document.units), units.InsertUnits.Millimeters)
        if document.units
        else 1.0
    )
    drawing = geometry2d.Drawing()
    for entity in document.modelspace():
        try:
            entity_path = dxf_path.make_path(entity)
        except (TypeError, ValueError, ezdxf.DXFError):
            continue  # text, dimensions, images: engraving or annotation, not cut geometry
        for sub_path in entity_path.sub_paths():
            points = np.array([(v.x, v.y) for v in sub_path.flattening(FLATTEN_DISTANCE_MM / factor)]) * factor
            if len(points) < 2:
                continue
            closed = bool(sub_path.is_closed) or bool(getattr(entity, "closed", False))
            if closed and np.allclose(points[0], points[-1]):
                points = points[:-1]
            drawing.add(points, closed)
    return drawing


def _cut_findings(drawing: geometry2d.Drawing, report: Report) -> None:
    stats = geometry2d.analyse(drawing)
    report.properties.update(
        {
            "cut_length_mm": stats.cut_length_mm,
            "segment_count": stats.segment_count,
            "contour_count": len(drawing.polylines),
        }
    )
    if drawing.polylines:
        points = np.vstack(drawing.polylines)
        extent = points.max(axis=0) - points.min(axis=0)
        report.properties["geometry_extent_mm"] = [round(float(extent[0]), 2), round(float(extent[1]), 2)]
    if stats.segment_count == 0:
        report.add("vector.empty", "The drawing has no lines or shapes to cut.")
        return
    if stats.open_ends:
        report.add(
            "vector.open_paths",
            f"{stats.open_ends // 2 or 1} contour(s) do not close ({stats.open_ends} loose ends). A cut along an "
            "open path leaves the part attached; close the paths if they outline parts.",
            open_ends=stats.open_ends,
        )
    if stats.zero_length_segments:
        report.add(
            "vector.zero_length_segments",
            f"{stats.zero_length_segments} segments have zero length; the laser dwells there and burns a spot.",
            count=stats.zero_length_segments,
        )
    if stats.duplicate_segments:
        report.add(
            "vector.duplicate_segments",
            f"{stats.duplicate_segments} segments lie exactly on others, so those edges are cut twice.",
            count=stats.duplicate_segments,
        )


def validate(path: Path, fmt: str) -> tuple[Report, list[tuple[str, Image.Image]]]:
    report = Report(format=fmt)
    if fmt == "svg":
        root = _parse_svg(path)
        drawing = geometry2d.svg_drawing(root, _svg_unit_matrix(root, report))
        svg_text = path.read_text(encoding="utf-8", errors="replace")
    else:
        document = _read_dxf(path)
        modelspace = document.modelspace()
        report.properties["entity_count"] = len(modelspace)
        report.properties["units"] = (
            ezdxf.units.unit_name(document.units) if document.units else "unitless (mm assumed)"
        )
        if len(modelspace) == 0:
            report.add("dxf.empty", "The DXF drawing has no entities in model space.")
            return report, []
        drawing = _dxf_drawing(document)
        backend = svg.SVGBackend()
        # Cutting lines drawn dark on white, like the SVG previews, whatever the CAD colours were.
        config = Configuration(background_policy=BackgroundPolicy.WHITE, color_policy=ColorPolicy.BLACK)
        Frontend(RenderContext(document), backend, config=config).draw_layout(modelspace)
        svg_text = backend.get_string(layout.Page(0, 0, layout.Units.mm))
    _cut_findings(drawing, report)
    if not report.ok:
        return report, []
    try:
        png = resvg_py.svg_to_bytes(svg_string=svg_text, width=800, dpi=96, background="#ffffff")
    except ValueError as exc:
        report.add("vector.render_failed", "The drawing could not be rendered to a preview. Export it again.")
        report.properties["render_error"] = str(exc)[:200]
        return report, []
    return report, [("Drawing", fit_preview(Image.open(io.BytesIO(bytes(png)))))]
