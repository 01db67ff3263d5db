"""What happens to takedown notices, strikes and complaints (issue 14). Ids only: the claimant's personal data stays
in ``trust.models`` (erasable), never in the append-only event store. Each notice event belongs to the notice's
history (``subject = ("takedown", "notice_id")``); the claimant, who has no account, is the actor of nothing
(``actor_id`` None), staff and uploaders are."""

from __future__ import annotations

import dataclasses

from marketplace.events import DomainEvent

NOTICE = ("takedown", "notice_id")
CREATOR = ("creator", "creator_id")
COMPLAINT = ("complaint", "complaint_id")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TakedownReceived(DomainEvent):
    """A complete notice arrived (the claimant gets an acknowledgement with their secret link)."""

    type = "takedown.received"
    subject = NOTICE
    notice_id: int
    pattern_ids: list[int]


@dataclasses.dataclass(frozen=True, kw_only=True)
class TakedownRemoved(DomainEvent):
    """Staff acted on the notice: the listings are down (actor: the moderator). ``held``: earnings held per
    currency; ``revoked``: buyers' entitlements revoked (0 unless staff chose to)."""

    type = "takedown.removed"
    subject = NOTICE
    notice_id: int
    pattern_ids: list[int]
    uploader_ids: list[int]
    reason: str
    revoke_access: bool
    held: dict[str, int]
    revoked: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class TakedownRejected(DomainEvent):
    """Staff rejected the notice (the claimant is told why)."""

    type = "takedown.rejected"
    subject = NOTICE
    notice_id: int
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class TakedownCountered(DomainEvent):
    """The uploader filed a counter-notice; the listings come back at ``restore_after`` (ISO 8601) unless the
    claimant files an action."""

    type = "takedown.countered"
    subject = NOTICE
    notice_id: int
    uploader_id: int
    restore_after: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class TakedownActionFiled(DomainEvent):
    """Staff recorded that the claimant filed an action: no automatic restoration."""

    type = "takedown.action_filed"
    subject = NOTICE
    notice_id: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class TakedownRestored(DomainEvent):
    """The listings came back (counter-notice period over: actor none; a complaint upheld: the moderator)."""

    type = "takedown.restored"
    subject = NOTICE
    notice_id: int
    pattern_ids: list[int]
    uploader_ids: list[int]
    reason: str
    released: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class StrikeIssued(DomainEvent):
    """A removal counted against the creator; ``active`` strikes now (expired and lifted ones not counted)."""

    type = "strike.issued"
    subject = CREATOR
    creator_id: int
    notice_id: int
    active: int
    expires_at: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class StrikeLifted(DomainEvent):
    type = "strike.lifted"
    subject = CREATOR
    creator_id: int
    notice_id: int
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class CreatorSuspended(DomainEvent):
    """Selling suspended at the policy's count of active strikes (or lifted: ``suspended`` False)."""

    type = "creator.suspended"
    subject = CREATOR
    creator_id: int
    suspended: bool
    active_strikes: int
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComplaintFiled(DomainEvent):
    type = "complaint.filed"
    subject = COMPLAINT
    complaint_id: int
    about: str
    notice_id: int | None = None
    pattern_id: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComplaintResolved(DomainEvent):
    type = "complaint.resolved"
    subject = COMPLAINT
    complaint_id: int
    about: str
    outcome: str
    reason: str
    notice_id: int | None = None
    pattern_id: int | None = None
