"""What the signed-in visitor owns, for catalogue pages:
``{% load entitlements %}{% pattern_owned pattern as owned %}``.

Delivery sits above catalog (see the README's Layering): catalog's views never ask delivery; catalog's templates
load this library where they show "in your library". One indexed query per call, none for anonymous visitors,
exactly what the view asked before.
"""

from __future__ import annotations

from typing import Any

from django import template

from delivery.selectors import entitled_pattern_ids

register = template.Library()


@register.simple_tag(takes_context=True)
def pattern_owned(context: template.Context, pattern: Any) -> bool:
    """Whether the request's user holds an active entitlement to ``pattern``."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return bool(pattern.pk in entitled_pattern_ids(buyer=user, pattern_ids=[pattern.pk]))
