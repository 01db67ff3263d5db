"""Staff side of notice and action: notices with their evidence page (in the moderation console's style), decisions,
"claimant filed an action", strikes and complaints. Every change goes through trust.services, so it is recorded
with the staff member as the actor."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from catalog.permissions import MODERATE_PATTERNS, staff_has_perm
from trust import selectors, services
from trust.models import Complaint, CounterNotice, Strike, TakedownItem, TakedownNotice


class TakedownItemInline(admin.TabularInline[TakedownItem, TakedownNotice]):
    model = TakedownItem
    extra = 0
    can_delete = False
    readonly_fields = ("pattern", "uploader", "previous_status", "removed_at", "restored_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def evidence_view(request: HttpRequest, pk: int, *, model_admin: TakedownNoticeAdmin) -> HttpResponse:
    """The evidence (both sides' files and previews side by side, similarity, upload times and hashes, the
    uploader's history) and the decision form; POST decides (or records that the claimant filed an action)."""
    if not staff_has_perm(request.user, MODERATE_PATTERNS):
        raise PermissionDenied("Deciding notices needs the catalog.change_pattern permission.")
    notice = TakedownNotice.objects.select_related("decided_by", "original_pattern").filter(pk=pk).first()
    if notice is None:
        raise Http404("No such notice.")
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "action_filed":
                services.action_filed_record(notice=notice, moderator=request.user)
                messages.success(request, f"Recorded: the claimant of notice #{pk} filed an action.")
            else:
                services.notice_decide(
                    notice=notice,
                    moderator=request.user,
                    action=request.POST.get("action", ""),
                    reason=request.POST.get("reason", ""),
                    revoke_access=request.POST.get("revoke_access") == "on",
                )
                messages.success(request, f"Notice #{pk} decided.")
            return redirect(reverse("admin:trust_takedownnotice_evidence", args=[pk]))
        except services.Conflict as exc:
            messages.error(request, str(exc))
            status = 409
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
            status = 400
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": TakedownNotice._meta,
        "title": f"Takedown notice #{notice.pk}",
        "notice": notice,
        "evidence": selectors.notice_evidence(notice=notice),
        "counter_notices": list(notice.counter_notices.select_related("uploader")),
    }
    return TemplateResponse(request, "admin/trust/evidence.html", context, status=status)


@admin.register(TakedownNotice)
class TakedownNoticeAdmin(admin.ModelAdmin[TakedownNotice]):
    list_display = ("id", "status", "claimant_name", "created_at", "decided_at", "restore_after")
    list_filter = ("status",)
    search_fields = ("claimant_name", "claimant_email", "work_description")
    inlines = [TakedownItemInline]
    readonly_fields = [f.name for f in TakedownNotice._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        view = require_http_methods(["GET", "POST"])(partial(evidence_view, model_admin=self))
        return [
            path("<int:pk>/evidence/", wrap(view), name="trust_takedownnotice_evidence"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        extra_context = {
            **(extra_context or {}),
            "evidence_url": reverse("admin:trust_takedownnotice_evidence", args=[object_id]),
        }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(CounterNotice)
class CounterNoticeAdmin(admin.ModelAdmin[CounterNotice]):
    list_display = ("id", "notice", "uploader", "created_at")
    readonly_fields = [f.name for f in CounterNotice._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Strike)
class StrikeAdmin(admin.ModelAdmin[Strike]):
    list_display = ("creator", "notice", "created_at", "expires_at", "lifted_at")
    readonly_fields = [f.name for f in Strike._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin[Complaint]):
    list_display = ("id", "subject", "status", "notice", "pattern", "created_at", "resolved_at")
    list_filter = ("status", "subject")
    readonly_fields = [f.name for f in Complaint._meta.fields if f.name != "resolution"]
    actions = ["uphold", "dismiss"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def _resolve(self, request: HttpRequest, queryset: Any, outcome: str) -> None:
        for complaint in queryset:
            try:
                services.complaint_resolve(
                    complaint=complaint,
                    moderator=request.user,
                    outcome=outcome,
                    reason=complaint.resolution or f"{outcome.capitalize()} on review by staff.",
                )
            except (services.Conflict, ValidationError, PermissionDenied) as exc:
                self.message_user(request, f"Complaint #{complaint.pk}: {exc}", level=messages.ERROR)

    @admin.action(description="Uphold (reverse the decision); the resolution text is sent")
    def uphold(self, request: HttpRequest, queryset: Any) -> None:
        self._resolve(request, queryset, Complaint.Status.UPHELD)

    @admin.action(description="Dismiss (the decision stands); the resolution text is sent")
    def dismiss(self, request: HttpRequest, queryset: Any) -> None:
        self._resolve(request, queryset, Complaint.Status.DISMISSED)
