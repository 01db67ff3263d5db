"""Template tags catalog's templates load by name (a template library, not an import: the layering holds)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Exists, OuterRef

from catalog.permissions import MODERATE_PATTERNS, staff_has_perm
from community import selectors
from community.models import Collection, CollectionItem, Follow
from marketplace.page_cache import catalogue_cached

register = template.Library()

REVIEWS_ON_PAGE = 20


@register.filter
def stars(value: Any) -> str:
    """A rating as five characters of filled and empty stars (decorative: the number is always shown too)."""
    try:
        filled = round(float(value))
    except (TypeError, ValueError):
        return ""
    filled = max(0, min(5, filled))
    return "★" * filled + "☆" * (5 - filled)


# --- Studio pages (issue 12, h/studio) ---


@register.inclusion_tag("community/_reviews_block.html", takes_context=True)
def pattern_reviews_for_viewer(context: Any, pattern: Any) -> dict[str, Any]:
    """The reviews section with what this visitor may do: the creator a Reply form under each review without a
    reply, moderators Hide / Show on each (and the hidden ones, marked). Everyone else sees the visible reviews
    only, and nothing (no query) when the pattern has none."""
    user = context["request"].user
    moderator = staff_has_perm(user, MODERATE_PATTERNS)
    is_creator = getattr(user, "pk", None) == pattern.creator_id
    if not pattern.rating_count and not moderator:
        return {"show": False}
    listed = selectors.review_list_for_moderator if moderator else selectors.review_list_visible
    reviews = list(listed(pattern_id=pattern.pk)[:REVIEWS_ON_PAGE])
    return {
        "show": bool(reviews),
        "pattern": pattern,
        "reviews": reviews,
        "can_reply": is_creator,
        "can_hide": moderator,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("community/_follow.html", takes_context=True)
def creator_follow(context: Any, creator: Any) -> dict[str, Any]:
    """The shop's follower count and Follow / Following button (a sign-in link for visitors, nothing for the
    creator themself)."""
    request = context["request"]
    user = request.user
    return {
        "creator": creator,
        "followers": Follow.objects.filter(creator_id=creator.pk).count(),
        "signed_in": user.is_authenticated,
        "is_self": user.is_authenticated and user.pk == creator.pk,
        "following": selectors.is_following(follower=user, creator_id=creator.pk),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("community/_collect.html", takes_context=True)
def pattern_collect(context: Any, pattern: Any) -> dict[str, Any]:
    """The pattern page's favourite button (saved or not), collection count and "Add to collection" forms."""
    user = context["request"].user
    # The same for every visitor: kept with the catalogue data (collection_pattern_set marks the catalogue changed).
    collection_count = catalogue_cached(
        f"collection-count:{pattern.pk}", lambda: CollectionItem.objects.filter(pattern_id=pattern.pk).count()
    )
    result: dict[str, Any] = {
        "pattern": pattern,
        "signed_in": user.is_authenticated,
        "collection_count": collection_count,
        "next": context["request"].get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
    if user.is_authenticated:
        collections = list(
            Collection.objects.filter(owner_id=user.pk)
            .annotate(holds=Exists(CollectionItem.objects.filter(collection=OuterRef("pk"), pattern_id=pattern.pk)))
            .order_by("name")
            .only("pk", "name")
        )
        result.update(
            favourite=bool(selectors.favourite_pattern_ids(user=user, pattern_ids=[pattern.pk])),
            collections=[c for c in collections if not c.holds],  # type: ignore[attr-defined]
            in_collections=[c for c in collections if c.holds],  # type: ignore[attr-defined]
        )
    return result
