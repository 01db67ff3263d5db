"""Template tags catalog's templates load by name (a template library, not an import: the layering holds)."""

from __future__ import annotations

from typing import Any

from django import template

from community import selectors

register = template.Library()

REVIEWS_ON_PAGE = 20


@register.inclusion_tag("community/_reviews.html")
def pattern_reviews(pattern: Any) -> dict[str, Any]:
    """The pattern's visible reviews (newest first, at most REVIEWS_ON_PAGE; the API pages through all). Callers
    render it only when ``pattern.rating_count`` is non-zero, so a pattern without reviews costs no query."""
    reviews = list(selectors.review_list_visible(pattern_id=pattern.pk)[:REVIEWS_ON_PAGE])
    return {"pattern": pattern, "reviews": reviews}


@register.filter
def stars(value: Any) -> str:
    """A rating as five characters of filled and empty stars (decorative: the number is always shown too)."""
    try:
        filled = round(float(value))
    except (TypeError, ValueError):
        return ""
    filled = max(0, min(5, filled))
    return "★" * filled + "☆" * (5 - filled)
