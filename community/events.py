"""What buyers and fans do around patterns: reviews, favourites, follows."""

from __future__ import annotations

import dataclasses

from marketplace.events import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReviewCreated(DomainEvent):
    """A buyer reviewed a pattern they own (actor: the buyer)."""

    type = "review.created"
    subject = ("pattern", "pattern_id")
    review_id: int
    pattern_id: int
    creator_id: int
    rating: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class CreatorFollowed(DomainEvent):
    type = "creator.followed"
    creator_id: int
