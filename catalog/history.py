"""A pattern's history: its recorded events (``marketplace.events``), oldest first, as data for the API and as
sentences for people (the creator's status page, the admin change page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from catalog.models import Pattern
from catalog.templatetags.tessera import money
from marketplace.events.models import EventRecord
from marketplace.events.selectors import event_history

_COPY_KINDS = {"exact": "an identical file", "shape": "the same 3D shape", "image": "a near-identical image"}
_FIELD_LABELS = {
    "title": "title",
    "description": "description",
    "category": "category",
    "licence": "licence",
    "price": "price",
    "commercial_price": "Commercial price",
    "currency": "currency",
    "status": "status",
}
_STATUS_LABELS = {
    "draft": "draft",
    "processing": "processing",
    "needs_review": "waiting for review",
    "published": "published",
    "rejected": "rejected",
    "failed": "failed",
}


@dataclass(frozen=True)
class TimelineEntry:
    """One event as a person reads it: a headline (who did what) and, when there is one, a detail (a reason,
    what changed)."""

    type: str
    actor: str | None
    at: datetime
    headline: str
    detail: str = ""

    @property
    def tone(self) -> str:
        """The badge colour of the entry (design system ``.badge.ok/.warn/.err/.info``)."""
        if self.type in {"pattern.published", "pattern.processed"}:
            return "ok"
        if self.type in {"pattern.rejected", "pattern.failed"}:
            return "err"
        if self.type.startswith("copy."):
            return "warn"
        return "info"


def pattern_history_queryset(*, pattern_id: int) -> QuerySet[EventRecord]:
    """The pattern's events, oldest first (the actor's name is stored on each record: no join, no N+1)."""
    return EventRecord.objects.filter(subject_type="pattern", subject_id=pattern_id).order_by("id")


def pattern_history(*, pattern_id: int) -> list[EventRecord]:
    """The pattern's events, oldest first, in one query whatever their number."""
    return event_history(subject_type="pattern", subject_id=pattern_id)


def _by(actor: str | None, *, nobody: str = "") -> str:
    return f" by {actor}" if actor else nobody


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _change_value(name: str, value: Any, currency: str) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name in {"price", "commercial_price"} and isinstance(value, int):
        return money(value, currency)
    if name == "description":
        return _plural(int(value), "character")
    if name == "status":
        return _STATUS_LABELS.get(str(value), str(value))
    if name == "cover":
        return f"preview {value}"
    if name == "preview_order" and isinstance(value, list):
        return "previews " + ", ".join(str(item) for item in value)
    return f"“{value}”"


def _changes_text(changes: dict[str, Any], currency: str) -> str:
    if isinstance(changes.get("currency"), dict):
        currency = str(changes["currency"].get("to") or currency)
    # In the order of the form (the stored JSON keeps no order), then anything else.
    order = {name: position for position, name in enumerate(_FIELD_LABELS)}
    parts = []
    for name, change in sorted(changes.items(), key=lambda item: (order.get(item[0], len(order)), item[0])):
        if not isinstance(change, dict):
            continue
        label = _FIELD_LABELS.get(name, name.replace("_", " "))
        old = _change_value(name, change.get("from"), currency)
        new = _change_value(name, change.get("to"), currency)
        parts.append(f"{label[:1].upper()}{label[1:]}: {old} → {new}")
    return "; ".join(parts)


def describe(event: EventRecord, *, currency: str = "") -> TimelineEntry:
    """The sentence a person reads for one stored event ("Published by mod_ann", its reason as the detail);
    prices read in ``currency`` (the pattern's)."""
    data: dict[str, Any] = event.data or {}
    actor = event.actor_username or None
    headline, detail = event.type, ""
    if event.type == "pattern.submitted":
        headline = f"Submitted{_by(actor)} with {_plural(int(data.get('file_count', 0)), 'file')}"
    elif event.type == "pattern.processed":
        status = _STATUS_LABELS.get(str(data.get("status", "")), str(data.get("status", "")))
        headline = f"Processing finished: {_plural(int(data.get('file_count', 0)), 'file')}, {status}"
        if data.get("warnings"):
            headline += f" ({_plural(int(data['warnings']), 'warning')})"
    elif event.type == "pattern.failed":
        headline = "Processing failed" + _by(actor)
        detail = str(data.get("reason", ""))
    elif event.type == "pattern.published":
        headline = "Published" + _by(actor, nobody=" automatically")
        detail = str(data.get("reason", ""))
    elif event.type == "pattern.rejected":
        headline = "Rejected" + _by(actor)
        detail = str(data.get("reason", ""))
    elif event.type == "pattern.unpublished":
        headline = "Unpublished" + _by(actor)
        detail = "Off sale; buyers keep what they bought."
    elif event.type == "pattern.deleted":
        headline = "Deleted" + _by(actor)
        detail = "Gone from the shop; buyers keep what they bought."
    elif event.type == "pattern.removed":
        headline = f"Removed on notice #{data.get('notice_id', '')}" + _by(actor)
        detail = str(data.get("reason", ""))
    elif event.type == "pattern.restored":
        headline = f"Restored after notice #{data.get('notice_id', '')}" + _by(actor, nobody=" automatically")
        detail = str(data.get("reason", ""))
    elif event.type == "pattern.updated":
        changes = data.get("changes") or {}
        headline = "Edited" + _by(actor)
        detail = _changes_text(changes if isinstance(changes, dict) else {}, currency)
    elif event.type == "copy.flagged":
        kind = _COPY_KINDS.get(str(data.get("kind", "")), "a file")
        headline = f"Possible copy flagged: {kind} of another creator's pattern"
        detail = "A moderator checks it before the pattern can be published."
    elif event.type == "copy.decided":
        decision = "confirmed" if data.get("decision") == "confirmed" else "dismissed (not a copy)"
        headline = f"Possible copy {decision}{_by(actor)}"
    elif event.type == "tag.decided":
        decision = str(data.get("decision", "decided"))
        automatic = " automatically" if data.get("source") == "model" else ""
        headline = f"Tag “{data.get('tag', '')}” {decision}{_by(actor, nobody=automatic)}"
    return TimelineEntry(type=event.type, actor=actor, at=event.at, headline=headline, detail=detail)


def pattern_timeline(*, pattern: Pattern) -> list[TimelineEntry]:
    """The pattern's history as sentences, oldest first (one query)."""
    return [describe(event, currency=pattern.currency) for event in pattern_history(pattern_id=pattern.pk)]
