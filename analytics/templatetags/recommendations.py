"""Recommendation rows on catalogue and cart pages: template tags catalog's and payments' templates load by name
(a template library, not an import, so catalog and payments never import analytics).

Each renders ``analytics/_recommendations.html`` (cards: ``catalog/_card.html``) from the precomputed table.
"""

from __future__ import annotations

from typing import Any

from django import template

from analytics.recommendations import selectors
from catalog.models import Pattern
from payments.cart import cart_ids

register = template.Library()


@register.inclusion_tag("analytics/_recommendations.html")
def pattern_recommendations(pattern: Any) -> dict[str, Any]:
    """ "Frequently bought together" (or the labelled popularity fallback), "Buyers also viewed" and "Complete the
    project" of a published pattern: the same for everyone, so pattern_detail.html renders it inside its cached
    fragment. Nothing (and no query) for a pattern that is not published."""
    if getattr(pattern, "status", None) != Pattern.Status.PUBLISHED:
        return {"sections": []}
    return {"sections": selectors.pattern_sections(pattern_id=pattern.pk)}


@register.inclusion_tag("analytics/_recommendations.html", takes_context=True)
def recommended_for_you(context: template.Context) -> dict[str, Any]:
    """Home's "Recommended for you" for a signed-in visitor (nothing, and no query, for anyone else)."""
    user = getattr(context.get("request"), "user", None)
    if not getattr(user, "is_authenticated", False):
        return {"sections": []}
    return {"sections": selectors.user_sections_cached(user=user)}


@register.inclusion_tag("analytics/_recommendations.html", takes_context=True)
def cart_suggestions(context: template.Context) -> dict[str, Any]:
    """The cart page's suggestions for the patterns in the session's cart."""
    request = context.get("request")
    if request is None:
        return {"sections": []}
    return {"sections": selectors.cart_sections(user=request.user, cart_ids=cart_ids(request.session))}
