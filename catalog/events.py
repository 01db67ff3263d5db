"""What happens to patterns: the events catalog (and ingestion, which works on catalog's patterns) records.

Each pattern event belongs to the pattern's history (``subject = ("pattern", "pattern_id")``): the creator's status
page, the admin change page and ``GET /api/v1/patterns/{id}/history/`` show them, oldest first.
"""

from __future__ import annotations

import dataclasses

from marketplace.events import DomainEvent

PATTERN = ("pattern", "pattern_id")


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternSubmitted(DomainEvent):
    """A creator sent a pattern with its files for processing (actor: the creator; or staff via the API)."""

    type = "pattern.submitted"
    subject = PATTERN
    pattern_id: int
    creator_id: int
    title: str
    file_count: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternProcessed(DomainEvent):
    """Validation and previews finished; ``status`` is where the pattern went (needs_review or published)."""

    type = "pattern.processed"
    subject = PATTERN
    pattern_id: int
    status: str
    file_count: int
    warnings: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternFailed(DomainEvent):
    """Processing failed for a reason the creator is shown."""

    type = "pattern.failed"
    subject = PATTERN
    pattern_id: int
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternPublished(DomainEvent):
    """The pattern went on sale (actor: the moderator; none when published automatically). ``republished``: it
    was put back on sale after an unpublish (reviewed and announced before; not a new approval)."""

    type = "pattern.published"
    subject = PATTERN
    pattern_id: int
    creator_id: int
    reason: str = ""
    republished: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternRejected(DomainEvent):
    """A moderator refused the pattern; ``reason`` is what the creator reads, ``reason_code`` the preset used."""

    type = "pattern.rejected"
    subject = PATTERN
    pattern_id: int
    creator_id: int
    reason: str
    reason_code: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternUpdated(DomainEvent):
    """Someone changed the pattern's fields: ``changes`` maps field name → {"from": old, "to": new}
    (public fields only; long text as its length)."""

    type = "pattern.updated"
    subject = PATTERN
    pattern_id: int
    changes: dict[str, dict[str, object]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class CopyFlagged(DomainEvent):
    """Ingestion found that a file of this pattern looks like another creator's file."""

    type = "copy.flagged"
    subject = PATTERN
    pattern_id: int
    flag_id: int
    kind: str
    matched_pattern_id: int
    distance: float
    threshold: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class CopyDecided(DomainEvent):
    """A moderator decided a copy flag: ``decision`` is "confirmed" or "dismissed"."""

    type = "copy.decided"
    subject = PATTERN
    pattern_id: int
    flag_id: int
    decision: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class TagDecided(DomainEvent):
    """A tag was accepted, rejected, added or removed (``decision``), by the creator, a moderator or the
    tagger (``source``: "creator", "staff", "model")."""

    type = "tag.decided"
    subject = PATTERN
    pattern_id: int
    tag: str
    decision: str
    source: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchRequested(DomainEvent):
    """ "Tell us what you wanted" after a search that found little: the query and the person's own words
    (actor: the person; none when not signed in). A submission, not tracking: recorded, never dropped."""

    type = "search.requested"
    query: str
    wanted: str
    path: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternVersionSubmitted(DomainEvent):
    """A creator sent new files as version ``version`` of a pattern (the current version stays on sale)."""

    type = "pattern.version_submitted"
    subject = PATTERN
    pattern_id: int
    creator_id: int
    version: int
    changelog: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternVersionPublished(DomainEvent):
    """A moderator approved version ``version``: earlier buyers get their own marked copy of it."""

    type = "pattern.version_published"
    subject = PATTERN
    pattern_id: int
    creator_id: int
    version: int
    changelog: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternVersionRejected(DomainEvent):
    type = "pattern.version_rejected"
    subject = PATTERN
    pattern_id: int
    creator_id: int
    version: int
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternUnpublished(DomainEvent):
    """The creator (or staff) took the pattern off sale; buyers keep what they bought."""

    type = "pattern.unpublished"
    subject = PATTERN
    pattern_id: int
    creator_id: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternDeleted(DomainEvent):
    """Soft delete: gone from the shop and search; buyers keep access to what they bought."""

    type = "pattern.deleted"
    subject = PATTERN
    pattern_id: int
    creator_id: int


# --- Takedowns (issue 14, h/trust): catalog records these when trust removes or restores a listing ---


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternRemoved(DomainEvent):
    """Staff took the listing down on a notice of infringement (``notice_id``: trust's notice); ``previous_status``
    is where a restoration returns it."""

    type = "pattern.removed"
    subject = PATTERN
    pattern_id: int
    creator_id: int
    notice_id: int
    reason: str
    previous_status: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternRestored(DomainEvent):
    """A removed listing came back (counter-notice period over, or a complaint upheld); ``status`` is where."""

    type = "pattern.restored"
    subject = PATTERN
    pattern_id: int
    creator_id: int
    notice_id: int
    status: str
    reason: str = ""
