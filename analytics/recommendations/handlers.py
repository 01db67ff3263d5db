"""Recommendations' consumer of domain events (listed in marketplace/handlers.py).

"Recommended for you" is kept per buyer (``selectors.user_sections_cached``); the moment a buyer comes to hold a
pattern, their kept rows must stop offering it. Inline, in the grant's transaction, so the bump happens at its
commit (an outbox handler would leave a few seconds in which home could still offer what was just bought).
"""

from __future__ import annotations

from analytics.recommendations.selectors import user_recommendations_changed
from delivery.events import EntitlementGranted


def for_you_forget(event: EntitlementGranted) -> None:
    user_recommendations_changed(user_id=event.buyer_id)
