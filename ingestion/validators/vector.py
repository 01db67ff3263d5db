"""SVG and DXF cutting files: safe parsing, document size, preview through resvg."""

from __future__ import annotations

import io
import re
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
import ezdxf
import resvg_py
from defusedxml import DefusedXmlException
from ezdxf import recover
from ezdxf.addons.drawing import Frontend, RenderContext, layout, svg
from ezdxf.addons.drawing.config import BackgroundPolicy, ColorPolicy, Configuration
from PIL import Image

from .base import FileRejected, Report, fit_preview

SVG_NS = "{http://www.w3.org/2000/svg}"
_UNIT = re.compile(r"^\s*([0-9.]+)\s*(mm|cm|in|px|pt)?\s*$")
_MM_PER_UNIT = {"mm": 1.0, "cm": 10.0, "in": 25.4, "px": 25.4 / 96, "pt": 25.4 / 72, None: 25.4 / 96}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_svg(path: Path) -> Element:
    try:
        root = SafeET.parse(str(path), forbid_dtd=True, forbid_entities=True, forbid_external=True).getroot()
    except DefusedXmlException as exc:
        raise FileRejected(
            "The SVG declares a DTD or entities, which can be used to attack XML readers. Save it again as plain SVG."
        ) from exc
    except SafeET.ParseError as exc:
        raise FileRejected(f"The SVG is not well-formed XML ({exc}). Export it again.") from exc
    if _local(root.tag) != "svg":
        raise FileRejected("The XML file's root element is not <svg>.")
    for element in root.iter():
        name = _local(element.tag)
        if name == "script":
            raise FileRejected("The SVG contains a <script>. Cutting files must not carry code; remove it.")
        if name == "foreignObject":
            raise FileRejected("The SVG contains a <foreignObject> (embedded HTML). Remove it and upload again.")
        for attribute, value in element.attrib.items():
            attr = _local(attribute)
            if attr.lower().startswith("on"):
                raise FileRejected(
                    f"The SVG has an event handler ({attr}) on <{name}>. Remove scripting and upload again."
                )
            if attr == "href" and not value.startswith(("#", "data:")):
                raise FileRejected(f"The SVG refers to an external resource ({value[:80]}). Embed or remove it.")
    return root


def _length_mm(value: str | None) -> float | None:
    if not value:
        return None
    match = _UNIT.match(value)
    if not match:
        return None
    return round(float(match.group(1)) * _MM_PER_UNIT[match.group(2)], 2)


def quick_check(path: Path, fmt: str) -> None:
    if fmt == "svg":
        _parse_svg(path)
    else:
        _read_dxf(path)


def _read_dxf(path: Path) -> ezdxf.document.Drawing:
    try:
        document, auditor = recover.readfile(str(path))
    except (OSError, ezdxf.DXFStructureError) as exc:
        raise FileRejected("The DXF file is damaged and could not be recovered. Export it again.") from exc
    if auditor.has_errors:
        raise FileRejected(f"The DXF file has {len(auditor.errors)} unrecoverable structural errors. Export it again.")
    return document


def validate(path: Path, fmt: str) -> tuple[Report, list[tuple[str, Image.Image]]]:
    report = Report(format=fmt)
    if fmt == "svg":
        root = _parse_svg(path)
        width, height = _length_mm(root.get("width")), _length_mm(root.get("height"))
        report.properties["width_mm"] = width
        report.properties["height_mm"] = height
        report.properties["element_count"] = sum(1 for _ in root.iter())
        svg_text = path.read_text(encoding="utf-8", errors="replace")
    else:
        document = _read_dxf(path)
        modelspace = document.modelspace()
        report.properties["entity_count"] = len(modelspace)
        report.properties["units"] = ezdxf.units.unit_name(document.units)
        backend = svg.SVGBackend()
        # Cutting lines drawn dark on white, like the SVG previews, whatever the CAD colours were.
        config = Configuration(background_policy=BackgroundPolicy.WHITE, color_policy=ColorPolicy.BLACK)
        Frontend(RenderContext(document), backend, config=config).draw_layout(modelspace)
        svg_text = backend.get_string(layout.Page(0, 0, layout.Units.mm))
        if len(modelspace) == 0:
            report.add("dxf.empty", "error", "The DXF drawing has no entities in model space.")
    try:
        png = resvg_py.svg_to_bytes(svg_string=svg_text, width=800, dpi=96, background="#ffffff")
    except ValueError as exc:
        report.add("vector.render_failed", "error", "The drawing could not be rendered. Export it again.")
        report.properties["render_error"] = str(exc)[:200]
        return report, []
    preview = fit_preview(Image.open(io.BytesIO(bytes(png))))
    return report, [("Drawing", preview)]
