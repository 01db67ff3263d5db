"""What happens to orders and payouts. Amounts are integer minor units with their currency."""

from __future__ import annotations

import dataclasses

from marketplace.events import DomainEvent

ORDER = ("order", "order_id")


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderCreated(DomainEvent):
    type = "order.created"
    subject = ORDER
    order_id: int
    buyer_id: int
    total: int
    currency: str
    pattern_ids: list[int]


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderPaid(DomainEvent):
    """A verified payment (or a free claim) completed the order. ``items``: one dict per line,
    ``{"item_id", "pattern_id", "creator_id", "licence", "price"}``. Inline handlers grant the entitlements."""

    type = "order.paid"
    subject = ORDER
    order_id: int
    buyer_id: int
    total: int
    currency: str
    items: list[dict[str, object]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderRefunded(DomainEvent):
    """``amount`` was refunded (``full`` when nothing is left); a full refund revokes the downloads (inline)."""

    type = "order.refunded"
    subject = ORDER
    order_id: int
    buyer_id: int
    amount: int
    currency: str
    full: bool
    reason: str = ""
    pattern_ids: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderDisputed(DomainEvent):
    """The buyer's bank opened (``status`` "opened") or closed ("won"/"lost") a dispute."""

    type = "order.disputed"
    subject = ORDER
    order_id: int
    buyer_id: int
    amount: int
    currency: str
    status: str
    reason: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PayoutPaid(DomainEvent):
    type = "payout.paid"
    subject = ("payout", "payout_id")
    payout_id: int
    creator_id: int
    amount: int
    currency: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PayoutFailed(DomainEvent):
    type = "payout.failed"
    subject = ("payout", "payout_id")
    payout_id: int
    creator_id: int
    amount: int
    currency: str
    reason: str
