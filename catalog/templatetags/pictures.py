"""``{% picture preview ... %}``: a responsive, aspect-true ``<picture>`` for a preview and its renditions."""

from __future__ import annotations

from typing import Any

from django import template

from catalog.models import Preview, PreviewRendition

register = template.Library()


def _srcset(renditions: list[PreviewRendition]) -> str:
    return ", ".join(f"{r.url} {r.width}w" for r in renditions)


@register.inclusion_tag("catalog/_picture.html")
def picture(
    preview: Preview | None,
    *,
    alt: str,
    sizes: str = "100vw",
    eager: bool = False,
    css_class: str = "",
    max_width: int = 0,
) -> dict[str, Any]:
    """WebP renditions in ``<source srcset>``, the PNG/JPEG fallback in ``<img src>``.

    ``width``/``height`` are the preview's own pixels, so the browser reserves the true aspect before anything
    loads (no shift, no stretch). ``eager`` for the one picture that is the page's largest paint (the first of the
    gallery): no lazy loading and a high fetch priority; every other picture is lazy. ``max_width`` leaves out
    renditions wider than needed (thumbnail strips).
    """
    if preview is None:
        return {"preview": None}
    renditions = preview.ordered_renditions
    webp = [r for r in renditions if r.format == PreviewRendition.Format.WEBP]
    if max_width:
        webp = [r for r in webp if r.width <= max_width] or webp[:1]
    fallback = next((r for r in renditions if r.format != PreviewRendition.Format.WEBP), None)
    width = preview.width or (fallback.width if fallback else 0)
    height = preview.height or (fallback.height if fallback else 0)
    return {
        "preview": preview,
        "alt": alt,
        "sizes": sizes,
        "eager": eager,
        "css_class": css_class,
        "webp_srcset": _srcset(webp),
        "src": fallback.url if fallback else preview.url,
        "src_srcset": f"{fallback.url} {fallback.width}w" if fallback else "",
        "width": width,
        "height": height,
    }
