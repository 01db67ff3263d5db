"""What catalog's pages and API track (marketplace.tracking): one builder per event, so the search page and the
API search record the same event with the same fields for the same query."""

from __future__ import annotations

import hashlib
from typing import Any

from catalog import selectors
from marketplace.page_cache import catalogue_cached
from marketplace.tracking import PageViewed, SearchPerformed, user_id_of


def page_viewed(
    *, user: Any, path: str, pattern_id: int | None = None, shop_creator_id: int | None = None
) -> PageViewed:
    return PageViewed(user_id=user_id_of(user), path=path, pattern_id=pattern_id, shop_creator_id=shop_creator_id)


def search_performed(
    *, user: Any, query: str, result_count: int | None, path: str, suggestion: str | None = None, category: str = ""
) -> SearchPerformed:
    """A search by words that found ``result_count`` published patterns. ``suggestion``: the "did you mean" the
    caller already has; None to look it up here (only when the search found few, as the search page does).
    ``category``: the slug of the category filter, if any."""
    low = result_count is not None and result_count < selectors.FEW_RESULTS
    if suggestion is None:
        suggestion = _suggestion(query) if low and query else ""
    return SearchPerformed(
        user_id=user_id_of(user),
        path=path,
        query=query,
        result_count=result_count,
        low_results=low,
        did_you_mean=suggestion,
        category=category,
    )


def image_search_performed(*, user: Any, result_count: int, path: str) -> SearchPerformed:
    """A search by image (the page and the API): recorded as the query "[image]"."""
    return SearchPerformed(
        user_id=user_id_of(user),
        path=path,
        query="[image]",
        result_count=result_count,
        low_results=result_count < selectors.FEW_RESULTS,
    )


def _suggestion(query: str) -> str:
    key = hashlib.sha256(query.encode()).hexdigest()
    return catalogue_cached(f"search-suggestion:{key}", lambda: selectors.search_suggestion(query=query))
