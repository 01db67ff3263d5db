from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from delivery.leaks import leak_trace_record
from delivery.models import DownloadEvent, Entitlement, LeakTrace, LicenceCertificate, MarkedFile, Package


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin[Entitlement]):
    list_display = ["buyer", "pattern", "created_at", "revoked_at", "revoked_reason"]
    list_filter = ["revoked_at"]
    search_fields = ["buyer__username", "buyer__email", "pattern__title"]


@admin.register(DownloadEvent)
class DownloadEventAdmin(admin.ModelAdmin[DownloadEvent]):
    list_display = ["user", "kind", "pattern_file", "ip_address", "created_at"]


@admin.register(MarkedFile)
class MarkedFileAdmin(admin.ModelAdmin[MarkedFile]):
    list_display = ["pattern_file", "entitlement", "status", "size", "metrics", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["entitlement", "pattern_file", "file", "sha256", "size", "metrics", "error"]


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin[Package]):
    list_display = ["filename", "buyer", "status", "size", "created_at"]


@admin.register(LicenceCertificate)
class LicenceCertificateAdmin(admin.ModelAdmin[LicenceCertificate]):
    list_display = ["id", "entitlement", "issued_at"]
    readonly_fields = ["id", "entitlement", "content", "signature", "issued_at"]


class LeakUploadForm(forms.Form):
    suspect = forms.FileField(label="Suspected leaked file", help_text="A file found outside Tessera.")


@admin.register(LeakTrace)
class LeakTraceAdmin(admin.ModelAdmin[LeakTrace]):
    """Admins upload a suspected leak and get the order, buyer, date and confidence in one step."""

    list_display = ["file_name", "file_format", "verdict", "confidence", "uploaded_by", "created_at"]
    readonly_fields = [
        "verdict",
        "file_name",
        "file_format",
        "sha256",
        "confidence",
        "evidence",
        "uploaded_by",
        "created_at",
    ]
    fields = ("verdict", "file_name", "file_format", "sha256", "confidence", "evidence", "uploaded_by", "created_at")

    @admin.display(description="Traced to")
    def verdict(self, trace: LeakTrace) -> str:
        if trace.entitlement_id is None:
            return "Not traced: no buyer's mark was found with enough confidence."
        r = trace.result
        order_url = reverse("admin:payments_order_change", args=[r["order_id"]])
        return format_html(
            '<strong>Order <a href="{}">#{}</a></strong> · buyer <strong>{}</strong> &lt;{}&gt; · paid {} · “{}” · '
            "{} downloads{} · confidence {} ({})",
            order_url,
            r["order_id"],
            r["buyer"],
            r["buyer_email"],
            r["paid_at"],
            r["pattern"],
            r["downloads"],
            " · licence already revoked" if r.get("revoked") else "",
            f"{trace.confidence:.6f}",
            r["method"],
        )

    @admin.display(description="Evidence")
    def evidence(self, trace: LeakTrace) -> str:
        rows = trace.result.get("evidence", [])
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((str(row),) for row in rows)))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = LeakUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["suspect"]
            if upload.size > settings.TESSERA_MAX_UPLOAD_BYTES:
                form.add_error("suspect", "This file is larger than any file Tessera delivers.")
            else:
                trace = leak_trace_record(data=upload.read(), file_name=upload.name, uploaded_by=request.user)
                return redirect("admin:delivery_leaktrace_change", trace.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Trace a leaked file",
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/delivery/leaktrace/upload.html", context)
