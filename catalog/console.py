"""The moderation console: admin pages on the review queue (``ReviewQueueAdmin.get_urls``).

They live inside the admin so they inherit its sign-in, session, CSRF and permission checks: every
view needs ``catalog.change_pattern`` (a staff account without it gets 403 and changes nothing).
A decision is one POST that answers with a redirect to the next pattern, already claimed: one page
load per decision.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from catalog import moderation, services
from catalog.models import Pattern, PatternVersion, RejectionReason
from catalog.permissions import MODERATE_PATTERNS, staff_has_perm


def _require_moderator(request: HttpRequest) -> None:
    if not staff_has_perm(request.user, MODERATE_PATTERNS):
        raise PermissionDenied("The moderation console needs the catalog.change_pattern permission.")


def _item_url(pattern_id: int) -> str:
    return reverse("admin:catalog_reviewqueue_console_item", args=[pattern_id])


def _queue_url() -> str:
    return reverse("admin:catalog_reviewqueue_console")


def _to_next(request: HttpRequest, after: Pattern | None) -> HttpResponseRedirect:
    following = moderation.review_claim_next(moderator=request.user, after=after)  # type: ignore[arg-type]
    if following is None:
        messages.info(request, "The queue is clear: nothing else is waiting for you.")
        return redirect(_queue_url())
    return redirect(_item_url(following.pk))


@require_GET
def queue(request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> HttpResponse:
    """The queue, oldest first, with who is on what; "Start" claims the oldest free pattern."""
    _require_moderator(request)
    patterns = list(moderation.review_queue()[:200])
    now = timezone.now()
    for pattern in patterns:
        claim = getattr(pattern, "review_claim", None)
        pattern.live_claim = claim if claim is not None and claim.expires_at > now else None  # type: ignore[attr-defined]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Moderation queue",
        "patterns": patterns,
        # New versions of published patterns waiting for a decision (the current version stays on sale meanwhile).
        "versions": list(
            PatternVersion.objects.filter(status=PatternVersion.Status.NEEDS_REVIEW)
            .select_related("pattern", "pattern__creator")
            .prefetch_related("files")
            .order_by("created_at")[:200]
        ),
        "now": now,
    }
    return TemplateResponse(request, "admin/catalog/console/queue.html", context)


@require_GET
def start(request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> HttpResponse:
    _require_moderator(request)
    return _to_next(request, after=None)


@require_GET
def item(request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: int) -> HttpResponse:
    """One pattern, claimed for this moderator: preview, findings, copy evidence, history, the decision."""
    _require_moderator(request)
    opened = moderation.review_claim_open(pattern_id=pk, moderator=request.user)  # type: ignore[arg-type]
    if opened.pattern is None:
        raise Http404("No such pattern.")
    if opened.decided:
        status = opened.pattern.get_status_display().lower()
        messages.info(request, f"“{opened.pattern.title}” is {status} already; here is the next one.")
        return _to_next(request, after=opened.pattern)
    if opened.held_by is not None:
        messages.warning(
            request,
            f"{opened.held_by.moderator.username} is reviewing “{opened.pattern.title}” "
            f"until {timezone.localtime(opened.held_by.expires_at):%H:%M}; here is the next one.",
        )
        return _to_next(request, after=opened.pattern)
    review = moderation.review_item(pattern_id=pk)
    if review is None:
        raise Http404("No such pattern.")
    viewer_file = next((f for f in review.files if f.family == "mesh" and hasattr(f, "viewer_model")), None)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"Review: {review.pattern.title}",
        "is_nav_sidebar_enabled": False,  # the console needs the width
        "review": review,
        "pattern": review.pattern,
        "claim": opened.claim,
        "lead_preview": review.previews[0] if review.previews else None,
        "flags": [(flag, moderation.flag_similarity(flag)) for flag in review.flags],
        "viewer_file": viewer_file,
        "viewer_model": viewer_file.viewer_model if viewer_file is not None else None,
        "now": timezone.now(),
    }
    return TemplateResponse(request, "admin/catalog/console/item.html", context)


@require_POST
def decide(request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: int) -> HttpResponse:
    """Approve, reject (canned reason and/or note) or skip, then go straight to the next pattern."""
    _require_moderator(request)
    pattern = Pattern.objects.filter(pk=pk).only("pk", "title", "created_at", "status").first()
    if pattern is None:
        raise Http404("No such pattern.")
    action = request.POST.get("action", "")
    if action == "skip":
        moderation.review_claim_release(pattern=pattern, moderator=request.user)  # type: ignore[arg-type]
        return _to_next(request, after=pattern)
    canned_reason = None
    if action == "reject" and request.POST.get("reason"):
        try:
            canned_reason = RejectionReason.objects.filter(pk=int(request.POST["reason"]), active=True).first()
        except ValueError:
            canned_reason = None
        if canned_reason is None:
            messages.error(request, "That rejection reason no longer exists; pick another.")
            return redirect(_item_url(pattern.pk))
    if action not in ("approve", "reject"):
        messages.error(request, "Choose Approve, Reject or Next.")
        return redirect(_item_url(pattern.pk))
    try:
        decided = moderation.review_decide(
            pattern=pattern,
            moderator=request.user,  # type: ignore[arg-type]
            action=action,
            canned_reason=canned_reason,
            note=request.POST.get("note", "")[:2000],
        )
    except ValidationError as exc:
        if "reason" in getattr(exc, "message_dict", {}):
            messages.error(request, " ".join(exc.messages))
            return redirect(_item_url(pattern.pk))
        pattern.refresh_from_db(fields=["status"])
        messages.warning(request, " ".join(exc.messages))
        return _to_next(request, after=pattern)
    verb = "Rejected" if decided.status == Pattern.Status.REJECTED else "Approved"
    waiting = " It waits for its creator's payouts before it goes on sale." if decided.awaiting_payouts else ""
    messages.success(request, f"{verb} “{decided.title}”.{waiting}")
    return _to_next(request, after=pattern)


@require_POST
def version_decide(request: HttpRequest, model_admin: admin.ModelAdmin[Any], pk: int) -> HttpResponse:
    """Approve or reject (with a reason) a new version of a pattern, then back to the queue."""
    _require_moderator(request)
    version = PatternVersion.objects.select_related("pattern").filter(pk=pk).first()
    if version is None:
        raise Http404("No such version.")
    action = request.POST.get("action", "")
    try:
        services.version_moderate(
            version=version, moderator=request.user, action=action, reason=request.POST.get("note", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_queue_url())
    verb = "published" if action == "approve" else "rejected"
    messages.success(request, f"Version {version.number} of “{version.pattern.title}” {verb}.")
    return redirect(_queue_url())
