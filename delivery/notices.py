"""Takedown notices a creator sends to ANOTHER site, prepared from a leak trace or a copy flag.

The text has the elements of 17 U.S.C. § 512(c)(3): the work (with its Tessera address), the infringing material
(an address the creator fills in), the evidence (the trace or the copy-detection match, the upload times and the
SHA-256 of the original), the good-faith and accuracy statements, contact details and a signature placeholder.

Who may prepare one: staff with the permission to see leak traces (copy flags), and the creator of the traced
(copied) pattern. A creator never sees who bought the leaked copy: "a copy sold on <date> to a Tessera buyer,
reference <trace id>"; staff see the buyer and the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalog.models import CopyFlag, Pattern, PatternFile
from catalog.moderation import flag_similarity
from catalog.permissions import staff_has_perm
from delivery.models import Entitlement, LeakTrace, MarkedFile

PLACEHOLDER_LOCATION = "[the address (URL) where the copy is offered]"
LEAK_TRACE_PERMS = ("delivery.view_leaktrace",)
COPY_FLAG_PERMS = ("catalog.view_copyflag", "catalog.change_copyflag")


@dataclass(frozen=True)
class Notice:
    """A prepared notice: the text, and what the page shows around it."""

    text: str
    filename: str
    pattern: Pattern
    source: str  # "leak trace #12" or "copy flag #3"
    staff_view: bool


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "unknown"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _is_staff_for(user: Any, perms: tuple[str, ...]) -> bool:
    return staff_has_perm(user, *perms)


# ---------------------------------------------------------------- who may prepare which notice


def leak_trace_for_notice(*, user: Any, trace_id: int) -> LeakTrace | None:
    """A trace that named a buyer, if ``user`` is staff allowed to see traces or the traced pattern's creator."""
    trace = (
        LeakTrace.objects.select_related(
            "entitlement__pattern__creator", "entitlement__order_item__order", "entitlement__buyer"
        )
        .filter(pk=trace_id, entitlement__isnull=False)
        .first()
    )
    if trace is None or trace.entitlement is None or not getattr(user, "is_authenticated", False):
        return None
    if _is_staff_for(user, LEAK_TRACE_PERMS) or trace.entitlement.pattern.creator_id == user.pk:
        return trace
    return None


def copy_flag_for_notice(*, user: Any, flag_id: int) -> CopyFlag | None:
    """A copy flag, if ``user`` is staff allowed to see flags, or the creator of the copied (matched) file's
    pattern while the flag is not dismissed (a moderator decided it is not a copy)."""
    flag = (
        CopyFlag.objects.select_related("pattern_file__pattern__creator", "matched_file__pattern__creator")
        .filter(pk=flag_id)
        .first()
    )
    if flag is None or not getattr(user, "is_authenticated", False):
        return None
    if _is_staff_for(user, COPY_FLAG_PERMS):
        return flag
    if flag.matched_file.pattern.creator_id == user.pk and flag.status != CopyFlag.Status.DISMISSED:
        return flag
    return None


def leak_traces_for_creator(*, creator: Any) -> QuerySet[LeakTrace]:
    """Traces that named a buyer of one of ``creator``'s patterns, newest first."""
    return (
        LeakTrace.objects.filter(entitlement__pattern__creator=creator)
        .select_related("entitlement__pattern", "entitlement__order_item__order")
        .order_by("-created_at", "-pk")
    )


def copy_flags_for_creator(*, creator: Any) -> QuerySet[CopyFlag]:
    """Flags where another creator's upload copies one of ``creator``'s files (not dismissed), newest first."""
    return (
        CopyFlag.objects.filter(matched_file__pattern__creator=creator)
        .exclude(status=CopyFlag.Status.DISMISSED)
        .exclude(pattern__creator=creator)
        .select_related("matched_file__pattern", "pattern_file")
        .order_by("-created_at", "-pk")
    )


# ---------------------------------------------------------------- the text


def _traced(trace: LeakTrace) -> Entitlement:
    if trace.entitlement is None:
        raise ValueError("This leak trace named no buyer: there is nothing to base a notice on.")
    return trace.entitlement


def _original_files(trace: LeakTrace) -> list[PatternFile]:
    """The file(s) the leaked copy was made from: the one the mark was read against, the one whose marked copy it
    is, or (read without an original) the pattern's files of that format."""
    entitlement = _traced(trace)
    ids: set[int] = {
        int(row["original_file_id"])
        for row in trace.result.get("evidence", [])
        if isinstance(row, dict) and row.get("entitlement_id") == entitlement.pk and row.get("original_file_id")
    }
    if not ids:
        ids = set(
            MarkedFile.objects.filter(sha256=trace.sha256, entitlement=entitlement).values_list(
                "pattern_file_id", flat=True
            )
        )
    files = PatternFile.objects.filter(pk__in=ids) if ids else PatternFile.objects.none()
    if not ids:
        files = PatternFile.objects.filter(
            Q(marked_copies__entitlement=entitlement) & Q(format=trace.file_format)
        ).distinct()
    return list(files.defer("validation", "shape_descriptor", "image_hash").order_by("pk"))


def _site_of(url: str) -> str:
    host = urlsplit(url).hostname if url else None
    return host or "[the site]"


def _file_lines(files: list[PatternFile]) -> list[str]:
    return [f"   - {f.original_name}: SHA-256 {f.sha256}, uploaded to Tessera on {_when(f.created_at)}" for f in files]


def _render(
    *,
    pattern: Pattern,
    owner: Any,
    infringing_url: str,
    infringing_description: str,
    files: list[PatternFile],
    evidence: list[str],
) -> str:
    location = infringing_url or PLACEHOLDER_LOCATION
    owner_name = getattr(getattr(owner, "creator_profile", None), "display_name", "") or owner.get_full_name()
    lines = [
        "Subject: Notice of copyright infringement (DMCA, 17 U.S.C. § 512(c)(3))",
        "",
        f"To the designated copyright agent of {_site_of(infringing_url)}:",
        "",
        "I am writing to notify you of material on your service that infringes my copyright, and to ask that you",
        "remove it or disable access to it expeditiously.",
        "",
        "1. The copyrighted work",
        f"   “{pattern.title}” by {owner_name or owner.username}, a digital pattern published on Tessera:",
        f"   {_absolute(pattern.get_absolute_url())}",
        f"   Published on Tessera on {_when(pattern.published_at or pattern.created_at)}. Original file(s):",
        *_file_lines(files),
        "",
        "2. The infringing material",
        f"   {location}",
        f"   {infringing_description}",
        "",
        "3. Evidence",
        *[f"   - {line}" for line in evidence],
        "",
        "4. Statements",
        "   I have a good faith belief that use of the material in the manner complained of is not authorized by",
        "   the copyright owner, its agent, or the law.",
        "   The information in this notification is accurate, and under penalty of perjury, I am the owner, or an",
        "   agent authorized to act on behalf of the owner, of an exclusive right that is allegedly infringed.",
        "",
        "5. Contact",
        f"   Name: {owner_name or '[your full legal name]'}",
        "   Address: [your postal address]",
        "   Telephone: [your telephone number]",
        f"   E-mail: {owner.email or '[your e-mail address]'}",
        "",
        "Signature: [type your full legal name: a typed name is an electronic signature]",
        f"Date: {timezone.now().astimezone(UTC):%Y-%m-%d}",
        "",
    ]
    return "\n".join(lines)


def notice_from_leak_trace(*, trace: LeakTrace, user: Any, infringing_url: str = "") -> Notice:
    """The notice for a traced leak; the buyer is named only when ``user`` is staff."""
    entitlement = _traced(trace)
    pattern = entitlement.pattern
    order = entitlement.order_item.order
    staff_view = _is_staff_for(user, LEAK_TRACE_PERMS)
    if staff_view:
        sold_to = (
            f"Traced to buyer {entitlement.buyer.username} <{entitlement.buyer.email or 'no e-mail'}>, "
            f"order #{order.pk}, paid on {_when(order.paid_at)} (staff only: not for the notice)."
        )
    else:
        sold_to = f"A copy sold on {_when(order.paid_at)} to a Tessera buyer, reference {trace.pk}."
    result = trace.result or {}
    decisive = [
        row
        for row in result.get("evidence", [])
        if isinstance(row, dict) and row.get("entitlement_id") == entitlement.pk and "agreeing_bits" in row
    ]
    if decisive:
        best = max(decisive, key=lambda row: float(row.get("confidence") or 0))
        bits = f" ({best.get('agreeing_bits')} of {best.get('observed_bits')} watermark bits agree)"
    else:
        bits = " (the file is byte-for-byte the copy delivered)" if result.get("method") == "identical copy" else ""
    evidence = [
        "Every copy Tessera delivers carries an invisible forensic watermark unique to the purchase. Tessera's "
        "leak tracer read it from the file found at the address above.",
        f"Leak trace reference {trace.pk}, made on {_when(trace.created_at)}.",
        sold_to,
        f"Match: {result.get('method', 'watermark')}, confidence {trace.confidence:.6f}{bits}.",
        f"The file found: {trace.file_name}, SHA-256 {trace.sha256}.",
    ]
    text = _render(
        pattern=pattern,
        owner=pattern.creator,
        infringing_url=infringing_url,
        infringing_description=(
            "A copy of the original file(s) above, delivered to one buyer under a licence that does not allow "
            "sharing it, "
            "and offered here without my permission."
        ),
        files=_original_files(trace),
        evidence=evidence,
    )
    return Notice(
        text=text,
        filename=f"takedown-notice-leak-{trace.pk}.txt",
        pattern=pattern,
        source=f"leak trace {trace.pk}",
        staff_view=staff_view,
    )


def notice_from_copy_flag(*, flag: CopyFlag, user: Any, infringing_url: str = "") -> Notice:
    """The notice for a copy found by copy detection; the copying account is named only when ``user`` is staff."""
    original = flag.matched_file
    copy = flag.pattern_file
    pattern = original.pattern
    staff_view = _is_staff_for(user, COPY_FLAG_PERMS)
    status = {
        CopyFlag.Status.CONFIRMED: "Tessera's moderators confirmed it is a copy.",
        CopyFlag.Status.OPEN: "Tessera's moderators have not yet reviewed the match.",
        CopyFlag.Status.DISMISSED: "Tessera's moderators decided it is not a copy (staff only: not for the notice).",
    }[CopyFlag.Status(flag.status)]
    later = copy.created_at - original.created_at
    uploaded_by = (
        f" by {copy.pattern.creator.username} (pattern #{copy.pattern_id}; staff only: not for the notice)"
        if staff_view
        else ""
    )
    evidence = [
        f"Tessera's copy detection matched a later upload to my file: {flag.get_kind_display().lower()}, "
        f"similarity {flag_similarity(flag):.2f} of 1 ({flag.evidence}) Copy flag reference {flag.pk}.",
        f"My original was uploaded on {_when(original.created_at)}; the copy, {copy.original_name} "
        f"(SHA-256 {copy.sha256}), on {_when(copy.created_at)}{uploaded_by}"
        + (f", {later.days} day(s) later." if later.total_seconds() >= 0 else "."),
        status,
    ]
    text = _render(
        pattern=pattern,
        owner=pattern.creator,
        infringing_url=infringing_url,
        infringing_description="A copy of the work above, offered here without my permission.",
        files=[original],
        evidence=evidence,
    )
    return Notice(
        text=text,
        filename=f"takedown-notice-copy-{flag.pk}.txt",
        pattern=pattern,
        source=f"copy flag {flag.pk}",
        staff_view=staff_view,
    )
