"""Template helpers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from catalog.formatting import human_size
from catalog.printers import PRINTER_BEDS

register = template.Library()


@register.filter
def money(amount: int | None, currency: str = "") -> str:
    """Format integer minor units: ``money(1250, "USD")`` → ``"USD 12.50"``; zero is "Free"."""
    if not amount:
        return "Free"
    return amount_of(amount, currency)


@register.filter
def amount_of(amount: int | None, currency: str = "") -> str:
    """Like ``money`` for balances: zero is "USD 0.00" and negative amounts keep their sign."""
    value = int(amount or 0)
    sign = "-" if value < 0 else ""
    return f"{currency} {sign}{abs(value) // 100}.{abs(value) % 100:02d}".strip()


@register.filter
def filesize(size: int) -> str:
    return human_size(size)


REPORT_TITLES = {
    "mesh": "Printability report",
    "vector": "Cuttability report",
    "document": "Pattern PDF report",
    "image": "Print and tiling report",
    "bundle": "Bundle report",
}


def _facts(properties: dict[str, Any]) -> list[str]:
    facts = []
    if properties.get("bounding_box_mm"):
        facts.append("Size: " + " × ".join(f"{v:g}" for v in properties["bounding_box_mm"]) + " mm")
    if properties.get("face_count"):
        facts.append(
            f"{properties['face_count']:,} triangles" + (", watertight" if properties.get("watertight") else "")
        )
    if properties.get("volume_mm3") is not None:
        facts.append(
            f"Volume {properties['volume_mm3'] / 1000:.1f} cm³; about {properties.get('mass_estimate_g', 0):.0f} g "
            f"of PLA ({properties.get('mass_assumptions', '')})"
        )
    if "fits_printer_beds" in properties:
        beds = properties["fits_printer_beds"]
        facts.append("Fits: " + (", ".join(name.split(" (")[0] for name in beds) if beds else "no common printer"))
    if properties.get("cut_length_mm") is not None:
        facts.append(
            f"Cut length {properties['cut_length_mm'] / 1000:.2f} m in {properties.get('contour_count', 0)} contours"
        )
    if properties.get("width_mm") and properties.get("height_mm"):
        facts.append(f"Document {properties['width_mm']:g} × {properties['height_mm']:g} mm")
    if properties.get("page_count"):
        sizes = ", ".join(properties.get("paper_sizes", []))
        facts.append(f"{properties['page_count']} page(s)" + (f", {sizes}" if sizes else ""))
    if properties.get("width_px"):
        facts.append(f"{properties['width_px']} × {properties['height_px']} px, {properties.get('mode', '')}")
    if properties.get("seamless_score") is not None:
        facts.append(f"Seamless tile score {properties['seamless_score']:.2f} of 1")
    if properties.get("member_count") is not None:
        facts.append(f"{properties['member_count']} files in the bundle")
    return facts


@register.simple_tag
def file_report(pattern_file: Any) -> dict[str, Any]:
    """What a buyer sees of a file's validation report: a title, a verdict, findings and key facts."""
    validation = pattern_file.validation or {}
    findings = validation.get("findings", [])
    errors = sum(1 for f in findings if f["severity"] == "error")
    warnings = sum(1 for f in findings if f["severity"] == "warning")
    if not validation:
        verdict = "Not checked yet"
    elif errors:
        verdict = f"{errors} problem(s) block this file"
    elif warnings:
        verdict = f"Passed with {warnings} warning(s)"
    else:
        verdict = "All checks passed"
    return {
        "title": REPORT_TITLES.get(pattern_file.family, "Report"),
        "verdict": verdict,
        "level": "error" if errors else "warning" if warnings else "ok",
        "findings": findings,
        "facts": _facts(validation.get("properties", {})),
    }


# The bed the 3D viewer outlines first: a common 256 × 256 mm bed.
VIEWER_DEFAULT_BED = "Bambu Lab X1/P1 (256×256×256)"


@register.simple_tag
def viewer_facts(pattern: Any, pattern_file: Any) -> dict[str, Any]:
    """What the 3D viewer partial shows of a mesh file: its size and triangle count from the validation report,
    the preview picture it shows until opened, and the printer beds it can outline."""
    properties = (pattern_file.validation or {}).get("properties", {})
    box = properties.get("bounding_box_mm") or []
    faces = properties.get("face_count")
    view_faces = pattern_file.viewer_model.face_count
    # pattern.previews is prefetched by the page's selector: no query per file.
    poster = next((p for p in pattern.previews.all() if p.pattern_file_id == pattern_file.pk), None)
    beds = properties.get("fits_printer_beds")
    return {
        "size": " × ".join(f"{round(float(v), 1):g}" for v in box) if len(box) == 3 else "",
        "faces": faces,
        "view_faces": view_faces,
        "simplified": bool(faces) and faces != view_faces,
        "poster": poster,
        "fits": ", ".join(name.split(" (")[0] for name in beds) if beds else "",
        "beds": [
            {"name": name, "value": ",".join(f"{v:g}" for v in bed), "default": name == VIEWER_DEFAULT_BED}
            for name, bed in PRINTER_BEDS.items()
        ],
    }


@register.inclusion_tag("catalog/_licence_cards.html")
def licence_cards(pattern: Any = None, heading_level: int = 3) -> dict[str, Any]:
    """The licence cards: every licence, or only those ``pattern`` is offered under (its own, plus Commercial
    when it has a Commercial tier). ``{% load tessera %}{% licence_cards %}`` or ``{% licence_cards pattern=p %}``.
    """
    from catalog import selectors
    from catalog.reference_data import LICENCE_TERMS

    codes = None
    if pattern is not None:
        codes = [pattern.licence.code] + (["commercial"] if pattern.commercial_price is not None else [])
    order = list(LICENCE_TERMS)
    found = sorted(selectors.licence_list(codes=codes), key=lambda lic: (order + [lic.code]).index(lic.code))
    licences = []
    for licence in found:
        price = None
        if pattern is not None:
            price = pattern.price if licence.code == pattern.licence.code else pattern.commercial_price
        licences.append({"licence": licence, "terms": LICENCE_TERMS.get(licence.code, {}), "price": price})
    return {"licence_cards": licences, "heading_level": heading_level, "pattern": pattern}


@register.filter
def ago(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago ``value`` was, for people: "just now" under a minute (``timesince`` says "0 minutes"), then
    "5 minutes ago", "2 days, 3 hours ago". ``{{ n.created_at|ago }}``."""
    if value is None:
        return ""
    now = now or timezone.now()
    if now - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value, now)} ago"
