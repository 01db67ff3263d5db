"""Public pages of notice and action: the notice form (works without JavaScript, no account), a notice's page for
its parties (the claimant through their secret link, the uploader signed in, with the counter-notice form), and the
transparency report."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from marketplace.throttling import anonymous_post_throttle
from trust import selectors, services
from trust.api.serializers import CounterNoticeInputSerializer, TakedownNoticeInputSerializer
from trust.models import CounterNotice, TakedownNotice

NOTICE_FIELDS = (
    "claimant_name",
    "claimant_email",
    "claimant_address",
    "claimant_phone",
    "work_description",
    "original_location",
    "patterns",
    "explanation",
    "good_faith",
    "accurate_under_penalty",
    "signature",
)
COUNTER_FIELDS = ("name", "address", "phone", "statement_good_faith", "consent_to_jurisdiction", "signature")
CHECKBOXES = {"good_faith", "accurate_under_penalty", "statement_good_faith", "consent_to_jurisdiction"}


def _posted(request: HttpRequest, names: tuple[str, ...]) -> dict[str, Any]:
    """The form's values as the API takes them (an unticked checkbox is simply absent: not affirmed)."""
    data: dict[str, Any] = {}
    for name in names:
        if name in CHECKBOXES:
            data[name] = request.POST.get(name) == "on"
        elif name in request.POST:
            data[name] = request.POST.get(name, "")
    return data


@require_http_methods(["GET", "POST"])
def takedown_form(request: HttpRequest) -> HttpResponse:
    """The notice form: the same fields and checks as ``POST /api/v1/takedowns/``."""
    values: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    status = 200
    retry_after = 0
    if request.method == "GET" and request.GET.get("patterns"):
        # "Report this listing" links prefill the listing: /legal/takedown/?patterns=<its URL or id>.
        values = {"patterns": request.GET.get("patterns", "")[:1000]}
    if request.method == "POST":
        values = _posted(request, NOTICE_FIELDS)
        serializer = TakedownNoticeInputSerializer(data=values)
        if serializer.is_valid():
            retry_after = anonymous_post_throttle(
                request,
                scope="takedown-notice",
                rate=settings.TESSERA_TRUST_NOTICE_RATE,
                window=settings.TESSERA_TRUST_NOTICE_WINDOW_SECONDS,
            )
            if not retry_after:
                notice = services.notice_submit(notice=serializer.notice())
                return redirect("trust:notice-received", pk=notice.pk)
            status = 429
        else:
            errors, status = dict(serializer.errors), 400
    response = render(
        request,
        "trust/takedown_form.html",
        {
            "values": values,
            "errors": errors,
            "retry_after": retry_after,
            "restore_days": settings.TESSERA_TRUST_RESTORE_BUSINESS_DAYS,
        },
        status=status,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@require_GET
def notice_received(request: HttpRequest, pk: int) -> HttpResponse:
    if not TakedownNotice.objects.filter(pk=pk).exists():
        raise Http404("No such notice.")
    return render(request, "trust/notice_received.html", {"notice_id": pk})


@require_http_methods(["GET", "POST"])
def notice_status(request: HttpRequest, pk: int) -> HttpResponse:
    """A notice's page for its parties: the claimant (``?token=``), the uploader (signed in: the statement of
    reasons and the counter-notice form), staff (a link to the evidence)."""
    notice = TakedownNotice.objects.filter(pk=pk).first()
    token = request.GET.get("token", "")
    role = selectors.notice_role(notice=notice, user=request.user, token=token) if notice else ""
    if notice is None or not role:
        raise Http404("No such notice.")
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        if role != "uploader":
            raise PermissionDenied("Only the uploader can file a counter-notice.")
        values = _posted(request, COUNTER_FIELDS)
        serializer = CounterNoticeInputSerializer(data=values)
        if serializer.is_valid():
            try:
                services.counter_notice_file(notice=notice, uploader=request.user, counter=serializer.counter())
            except services.Conflict as exc:
                errors, status = {"non_field_errors": [str(exc)]}, 409
            else:
                return redirect(reverse("trust:notice-status", kwargs={"pk": pk}))
        else:
            errors, status = dict(serializer.errors), 400
    notice.refresh_from_db()
    reader_id = request.user.pk or 0
    titles = selectors.pattern_titles(notice)
    items: list[dict[str, Any]] = [
        {"item": item, "title": titles.get(item.pattern_id, "")}
        for item in notice.items.all()
        if role != "uploader" or item.uploader_id == reader_id
    ]
    can_counter = (
        role == "uploader"
        and notice.status in (TakedownNotice.Status.REMOVED, TakedownNotice.Status.COUNTERED)
        and notice.items.filter(uploader_id=reader_id, removed_at__isnull=False, restored_at__isnull=True).exists()
        and not CounterNotice.objects.filter(notice=notice, uploader_id=reader_id).exists()
    )
    statement = (
        selectors.statement_of_reasons(notice=notice, uploader_id=reader_id)
        if role == "uploader" and notice.decided_at and any(row["item"].removed_at for row in items)
        else ""
    )
    return render(
        request,
        "trust/notice_status.html",
        {
            "notice": notice,
            "role": role,
            "items": items,
            "statement": statement,
            "can_counter": can_counter,
            "errors": errors,
            "values": values,
            "restore_days": settings.TESSERA_TRUST_RESTORE_BUSINESS_DAYS,
        },
        status=status,
    )


@require_GET
def transparency(request: HttpRequest) -> HttpResponse:
    rows = selectors.transparency_report()
    totals = {
        key: sum(row[key] for row in rows)
        for key in ("received", "acted_on", "rejected", "countered", "restored", "complaints", "upheld")
    }
    return render(request, "trust/transparency.html", {"rows": rows, "totals": totals})
