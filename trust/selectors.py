"""Reads for notice and action: who may see a notice, the evidence a moderator decides on, the statement of
reasons, and the transparency report."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlparse

import numpy as np
from django.conf import settings
from django.db.models import Count, Prefetch, Q
from django.db.models.functions import TruncMonth
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from catalog.models import CopyFlag, CreatorProfile, Pattern, PatternFile, Preview, User
from catalog.moderation import flag_similarity
from catalog.permissions import MODERATE_PATTERNS, staff_has_perm
from ingestion.shape import IMAGE_COPY_BITS, SHAPE_COPY_DISTANCE
from provenance import selectors as provenance_selectors
from trust.models import Complaint, CounterNotice, Strike, TakedownItem, TakedownNotice

TOKEN_SALT = "trust.takedown.claimant"  # noqa: S105 - an HMAC salt, not a secret


# --------------------------------------------------------------------------------------- who may see a notice


def claimant_token(notice: TakedownNotice) -> str:
    """The claimant's secret for their notice (they have no account): an HMAC of the notice under SECRET_KEY, so it
    is never stored and the acknowledgement e-mail can be written from the outbox at any time."""
    return salted_hmac(TOKEN_SALT, f"{notice.pk}:{notice.created_at.isoformat()}", algorithm="sha256").hexdigest()[:40]


def claimant_link(notice: TakedownNotice) -> str:
    return f"{reverse('trust:notice-status', kwargs={'pk': notice.pk})}?token={claimant_token(notice)}"


def notice_role(*, notice: TakedownNotice, user: Any, token: str = "") -> str:
    """ "staff", "claimant" (the right token), "uploader" (signed in, owns a listing on it) or "" (none: 404)."""
    if staff_has_perm(user, MODERATE_PATTERNS, "trust.view_takedownnotice"):
        return "staff"
    if token and constant_time_compare(token, claimant_token(notice)):
        return "claimant"
    if getattr(user, "is_authenticated", False) and notice.items.filter(uploader=user).exists():
        return "uploader"
    return ""


# --------------------------------------------------------------------------------------- pattern references


def pattern_ref_id(ref: Any) -> int | None:
    """The pattern id a reference names: an id (number or digits), or a Tessera URL of a pattern page
    (``/patterns/<slug>/``) or of the API (``/api/v1/patterns/<id>/``). None when it names none."""
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return ref if ref > 0 else None
    text = str(ref).strip()
    if text.isdigit():
        return int(text) or None
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https", ""):
        return None
    if parsed.netloc and parsed.hostname not in tessera_hosts():
        return None
    try:
        match = resolve(parsed.path or "/")
    except Resolver404:
        return None
    if match.view_name == "api-pattern-detail":
        return int(match.kwargs["pk"])
    if match.view_name == "catalog:pattern-detail":
        return Pattern.objects.filter(slug=match.kwargs["slug"]).values_list("pk", flat=True).first()
    return None


def tessera_hosts() -> set[str]:
    hosts = {h.lstrip(".") for h in settings.ALLOWED_HOSTS if h != "*"}
    site = urlparse(settings.SITE_URL).hostname
    if site:
        hosts.add(site)
    return hosts


# Listings a notice may name: those the public could see when the claimant looked (or down already).
NOTICEABLE_STATUSES = (Pattern.Status.PUBLISHED, Pattern.Status.UNPUBLISHED, Pattern.Status.REMOVED)


def patterns_noticeable(*, ids: list[int]) -> dict[int, Pattern]:
    found = Pattern.objects.filter(pk__in=ids, status__in=NOTICEABLE_STATUSES).only("pk", "creator_id", "status")
    return {pattern.pk: pattern for pattern in found}


# --------------------------------------------------------------------------------------- evidence


@dataclass
class FileFacts:
    id: int
    name: str
    sha256: str
    size: int
    format: str
    uploaded_at: Any
    version: int | None
    version_created_at: Any
    preview: Preview | None


@dataclass
class SideFacts:
    """One side of the comparison: a pattern, its upload times and files' hashes."""

    pattern: Pattern
    files: list[FileFacts]
    # Authorship: the catalog's upload times and SHA-256s with each version's entry in the provenance log.
    authorship_receipts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Match:
    complained_file: FileFacts
    original_file: FileFacts
    kind: str
    distance: float
    threshold: float
    similarity: float
    is_copy: bool
    flag_status: str = ""


@dataclass
class UploaderHistory:
    uploader_id: int
    username: str
    active_strikes: int
    strikes: int
    suspended: bool
    other_notices: list[dict[str, Any]]


@dataclass
class Evidence:
    listings: list[SideFacts]
    original: SideFacts | None
    matches: list[Match]
    uploaders: list[UploaderHistory]


def _files(pattern: Pattern) -> list[FileFacts]:
    facts = []
    for pattern_file in pattern.files.all():
        previews = list(pattern_file.previews.all())
        version = pattern_file.version
        facts.append(
            FileFacts(
                id=pattern_file.pk,
                name=pattern_file.original_name,
                sha256=pattern_file.sha256,
                size=pattern_file.size,
                format=pattern_file.format,
                uploaded_at=pattern_file.created_at,
                version=version.number if version is not None else None,
                version_created_at=version.created_at if version is not None else None,
                preview=previews[0] if previews else None,
            )
        )
    return facts


def _side(pattern: Pattern) -> SideFacts:
    files = _files(pattern)
    return SideFacts(
        pattern=pattern, files=files, authorship_receipts=authorship_receipts(pattern=pattern, files=files)
    )


def authorship_receipts(*, pattern: Pattern, files: list[FileFacts]) -> list[dict[str, Any]]:
    """What proves who uploaded what, when: each original file's upload time and SHA-256 from the catalog (the
    operator's own database) and, under ``log``, its version's entry in the authorship log (leaf index, the time the
    statement states, the first signed checkpoint including it and the earliest RFC 3161 time-stamp of one), which
    the operator cannot backdate; ``log`` is None for a version not (yet) in the log."""
    versions = sorted({facts.version for facts in files if facts.version is not None})
    log = provenance_selectors.authorship_entries(pattern_id=pattern.pk, versions=versions) if versions else {}
    return [
        {
            "source": "catalog",
            "pattern_id": pattern.pk,
            "version": facts.version,
            "file": facts.name,
            "sha256": facts.sha256,
            "uploaded_at": facts.uploaded_at,
            "log": log.get(facts.version) if facts.version is not None else None,
        }
        for facts in files
    ]


def _patterns_with_files(ids: list[int]) -> dict[int, Pattern]:
    patterns = (
        Pattern.objects.filter(pk__in=ids)
        .select_related("creator")
        .defer("text_embedding", "search_vector", "description")
        .prefetch_related(
            Prefetch(
                "files",
                queryset=PatternFile.objects.select_related("version")
                .prefetch_related(Prefetch("previews", queryset=Preview.objects.defer("embedding").order_by("pk")))
                .order_by("pk"),
            )
        )
    )
    return {pattern.pk: pattern for pattern in patterns}


def _compare(a: PatternFile, b: PatternFile) -> tuple[str, float, float] | None:
    """(kind, distance, threshold) of the closest evidence two files share, or None when they share none."""
    if a.sha256 == b.sha256:
        return CopyFlag.Kind.EXACT, 0.0, 0.0
    if a.shape_descriptor is not None and b.shape_descriptor is not None:
        distance = float(np.linalg.norm(np.asarray(a.shape_descriptor) - np.asarray(b.shape_descriptor)))
        return CopyFlag.Kind.SHAPE, distance, SHAPE_COPY_DISTANCE
    if a.image_hash is not None and b.image_hash is not None:
        distance = float(np.abs(np.asarray(a.image_hash) - np.asarray(b.image_hash)).sum())
        return CopyFlag.Kind.IMAGE, distance, float(IMAGE_COPY_BITS)
    return None


def notice_evidence(*, notice: TakedownNotice) -> Evidence:
    """Everything a moderator weighs, assembled without them asking: both sides' files (upload times, SHA-256,
    previews), the copy-detection similarity of every complained-of file to every file of the claimant's work when
    it is on Tessera (the stored copy flags between them, and a fresh comparison of hashes, shape descriptors and
    image hashes), and each uploader's history (strikes, other notices)."""
    items = list(notice.items.all())
    pattern_ids = [item.pattern_id for item in items]
    if notice.original_pattern_id:
        pattern_ids.append(notice.original_pattern_id)
    patterns = _patterns_with_files(pattern_ids)
    listings = [_side(patterns[item.pattern_id]) for item in items if item.pattern_id in patterns]
    original = _side(patterns[notice.original_pattern_id]) if notice.original_pattern_id in patterns else None
    matches: list[Match] = []
    if original is not None and notice.original_pattern_id is not None:
        original_files = {f.pk: f for f in patterns[notice.original_pattern_id].files.all()}
        flags = {
            (flag.pattern_file_id, flag.matched_file_id): flag.status
            for flag in CopyFlag.objects.filter(
                pattern_id__in=[item.pattern_id for item in items], matched_file_id__in=list(original_files)
            )
        }
        for side in listings:
            stored = {f.pk: f for f in patterns[side.pattern.pk].files.all()}
            facts = {f.id: f for f in side.files}
            original_facts = {f.id: f for f in original.files}
            for file_id, complained in stored.items():
                for original_id, source in original_files.items():
                    compared = _compare(complained, source)
                    if compared is None:
                        continue
                    kind, distance, threshold = compared
                    probe = CopyFlag(kind=kind, distance=distance, threshold=threshold)
                    matches.append(
                        Match(
                            complained_file=facts[file_id],
                            original_file=original_facts[original_id],
                            kind=kind,
                            distance=round(distance, 6),
                            threshold=threshold,
                            similarity=round(flag_similarity(probe), 4),
                            is_copy=distance <= threshold,
                            flag_status=flags.get((file_id, original_id), ""),
                        )
                    )
        matches.sort(key=lambda match: -match.similarity)
    uploaders = [uploader_history(uploader_id=uid, exclude_notice_id=notice.pk) for uid in _uploader_ids(items)]
    return Evidence(listings=listings, original=original, matches=matches, uploaders=uploaders)


def _uploader_ids(items: list[TakedownItem]) -> list[int]:
    return sorted({item.uploader_id for item in items})


def uploader_history(*, uploader_id: int, exclude_notice_id: int | None = None) -> UploaderHistory:
    now = timezone.now()
    strikes = Strike.objects.filter(creator_id=uploader_id).aggregate(
        total=Count("pk"), active=Count("pk", filter=Q(lifted_at__isnull=True, expires_at__gt=now))
    )
    notices = (
        TakedownNotice.objects.filter(items__uploader_id=uploader_id)
        .exclude(pk=exclude_notice_id or 0)
        .distinct()
        .order_by("-created_at")
        .values("pk", "status", "created_at")[:20]
    )
    username = User.objects.filter(pk=uploader_id).values_list("username", flat=True).first() or ""
    suspended = CreatorProfile.objects.filter(user_id=uploader_id, selling_suspended_at__isnull=False).exists()
    return UploaderHistory(
        uploader_id=uploader_id,
        username=username,
        active_strikes=int(strikes["active"]),
        strikes=int(strikes["total"]),
        suspended=suspended,
        other_notices=[{"id": n["pk"], "status": n["status"], "created_at": n["created_at"]} for n in notices],
    )


# --------------------------------------------------------------------------------------- texts people read


def pattern_titles(notice: TakedownNotice) -> dict[int, str]:
    return dict(Pattern.objects.filter(takedown_items__notice=notice).values_list("pk", "title"))


def statement_of_reasons(*, notice: TakedownNotice, uploader_id: int) -> str:
    """DSA Art. 17: what was removed, why, on what notice, what it means, and how to object."""
    titles = pattern_titles(notice)
    mine = [item.pattern_id for item in notice.items.filter(uploader_id=uploader_id, removed_at__isnull=False)]
    listed = ", ".join(f"“{titles.get(pid, pid)}” (#{pid})" for pid in mine)
    days = settings.TESSERA_TRUST_RESTORE_BUSINESS_DAYS
    access = (
        "Buyers' access to the files was also withdrawn."
        if notice.revoke_access
        else "People who bought it keep access to their files."
    )
    return (
        f"Removed: {listed}. It is no longer visible or sold on Tessera. {access}\n\n"
        f"Why: {notice.decision_reason}\n\n"
        f"On what: takedown notice #{notice.pk} of {notice.created_at:%Y-%m-%d}, by {notice.claimant_name}, claiming "
        f"it infringes their copyright in: {notice.work_description.rstrip('.')}. The decision was taken by a "
        "person, not automatically; your earnings from the listing are held while the notice stands, and the "
        "removal counts as one strike under the repeat-infringer policy.\n\n"
        "How to object: if you believe it was removed by mistake, file a counter-notice (your name, address, "
        "a statement in good faith, consent to jurisdiction, your signature) on the notice's page; the listing "
        f"comes back after {days} business days unless the claimant goes to court. You can also complain about the "
        f"decision within {settings.TESSERA_TRUST_COMPLAINT_WINDOW_DAYS} days (internal complaint), and you may "
        "turn to an out-of-court dispute settlement body or a court."
    )


def counter_notice_text(counter: CounterNotice) -> str:
    """§512(g)(2)(B): the claimant gets a copy of the counter-notice."""
    phone = f", phone {counter.phone}" if counter.phone else ""
    return (
        f"{counter.name} ({counter.address}{phone}) states under penalty of perjury a good faith belief that the "
        "material was removed as a result of mistake or misidentification, consents to the jurisdiction of the "
        f"courts for their address, and signed “{counter.signature}”."
    )


# --------------------------------------------------------------------------------------- transparency report


def transparency_report() -> list[dict[str, Any]]:
    """Per month, newest first: notices received, acted on (removed), rejected, countered, restored; and
    complaints received and upheld. Each count is by the month the step happened in."""
    months: dict[date, dict[str, int]] = defaultdict(
        lambda: {
            "received": 0,
            "acted_on": 0,
            "rejected": 0,
            "countered": 0,
            "restored": 0,
            "complaints": 0,
            "upheld": 0,
        }
    )

    def count(queryset: Any, column: str, key: str) -> None:
        rows = queryset.annotate(month=TruncMonth(column)).values("month").annotate(total=Count("pk")).order_by()
        for row in rows:
            if row["month"] is not None:
                months[row["month"].date()][key] += row["total"]

    notices = TakedownNotice.objects.all()
    count(notices, "created_at", "received")
    removed = notices.filter(items__removed_at__isnull=False).distinct()
    count(TakedownNotice.objects.filter(pk__in=removed.values("pk")), "decided_at", "acted_on")
    count(
        notices.filter(decision_reason__gt="", decided_at__isnull=False).exclude(pk__in=removed.values("pk")),
        "decided_at",
        "rejected",
    )
    count(notices.filter(countered_at__isnull=False), "countered_at", "countered")
    count(notices.filter(restored_at__isnull=False), "restored_at", "restored")
    count(Complaint.objects.all(), "created_at", "complaints")
    count(Complaint.objects.filter(status=Complaint.Status.UPHELD), "resolved_at", "upheld")
    return [{"month": month, **counts} for month, counts in sorted(months.items(), reverse=True)]
