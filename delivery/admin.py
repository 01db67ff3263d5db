from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from catalog.models import PatternFile
from delivery.leaks import leak_trace_record
from delivery.models import DownloadEvent, Entitlement, LeakTrace, LicenceCertificate, MarkedFile, Package


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin[Entitlement]):
    """Read only: entitlements follow their orders (granted when paid, revoked by a full refund or a dispute)
    through delivery's handlers of payments' events, which record who did it."""

    list_display = ["buyer", "pattern", "created_at", "revoked_at", "revoked_reason"]
    list_filter = ["revoked_at"]
    search_fields = ["buyer__username", "buyer__email", "pattern__title"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


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


def _readable_time(iso: str | None) -> str:
    if not iso:
        return "not paid"
    try:
        return f"{timezone.localtime(datetime.fromisoformat(iso)):%Y-%m-%d %H:%M %Z}"
    except (TypeError, ValueError):
        return str(iso)


class LeakUploadForm(forms.Form):
    suspect = forms.FileField(label="Suspected leaked file", help_text="A file found outside Tessera.")


@admin.register(LeakTrace)
class LeakTraceAdmin(admin.ModelAdmin[LeakTrace]):
    """Admins upload a suspected leak and get the order, buyer, date and confidence in one step."""

    class Media:
        css = {"all": ["tessera/moderation.css"]}

    list_display = ["file_name", "file_format", "verdict", "confidence", "uploaded_by", "created_at"]
    readonly_fields = [
        "verdict",
        "takedown_notice",
        "file_name",
        "file_format",
        "sha256",
        "confidence",
        "evidence",
        "uploaded_by",
        "created_at",
    ]
    fields = (
        "verdict",
        "takedown_notice",
        "file_name",
        "file_format",
        "sha256",
        "confidence",
        "evidence",
        "uploaded_by",
        "created_at",
    )

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
            _readable_time(r.get("paid_at")),
            r["pattern"],
            r["downloads"],
            " · licence already revoked" if r.get("revoked") else "",
            f"{trace.confidence:.6f}",
            r["method"],
        )

    @admin.display(description="Takedown notice")
    def takedown_notice(self, trace: LeakTrace) -> str:
        if trace.entitlement_id is None:
            return "—"
        return format_html(
            '<a href="{}">Prepare a takedown notice</a> for the site where the file was found (the creator can '
            "prepare the same notice from “Copies of your work”, without the buyer's name).",
            reverse("delivery:leak_takedown_notice", args=[trace.pk]),
        )

    @admin.display(description="Evidence")
    def evidence(self, trace: LeakTrace) -> str:
        """Every reading of the mark as a row: which buyer and order it points to, how well it matched."""
        rows = [row for row in trace.result.get("evidence", []) if isinstance(row, dict)]
        if not rows:
            return "No readings."
        entitlements = {
            entitlement.pk: entitlement
            for entitlement in Entitlement.objects.filter(
                pk__in={row["entitlement_id"] for row in rows if isinstance(row.get("entitlement_id"), int)}
            ).select_related("buyer", "order_item__order", "pattern")
        }
        files = {
            pattern_file.pk: pattern_file
            for pattern_file in PatternFile.objects.filter(
                pk__in={row["original_file_id"] for row in rows if isinstance(row.get("original_file_id"), int)}
            ).only("pk", "original_name", "pattern_id")
        }
        body = format_html_join("", "{}", ((self._evidence_row(row, entitlements, files),) for row in rows))
        return format_html(
            '<div class="mod-scroll"><table class="trace-table"><thead><tr>'
            '<th scope="col">Mark</th><th scope="col">Buyer</th>'
            '<th scope="col">Order</th><th scope="col">Match score</th><th scope="col">File</th>'
            '<th scope="col">Date</th></tr></thead><tbody>{}</tbody></table></div>',
            body,
        )

    @staticmethod
    def _evidence_row(row: dict[str, Any], entitlements: dict[int, Entitlement], files: dict[int, PatternFile]) -> str:
        mark = format_html("{} <small>({})</small>", row.get("carrier", "?"), row.get("method", "—"))
        if "detail" in row:
            return format_html('<tr><td>{}</td><td colspan="5">{}</td></tr>', row.get("carrier", "?"), row["detail"])
        entitlement = entitlements.get(row.get("entitlement_id") or 0)
        if entitlement is None:
            buyer, order, date = "no buyer decoded", "—", "—"
        else:
            paid_order = entitlement.order_item.order
            buyer = format_html("{} &lt;{}&gt;", entitlement.buyer.username, entitlement.buyer.email or "no e-mail")
            order = format_html(
                '<a href="{}">#{}</a> · {}',
                reverse("admin:payments_order_change", args=[paid_order.pk]),
                paid_order.pk,
                entitlement.pattern.title,
            )
            date = f"{timezone.localtime(paid_order.paid_at):%Y-%m-%d %H:%M}" if paid_order.paid_at else "not paid"
        score = format_html(
            "{} <small>({} of {} bits agree)</small>",
            f"{float(row.get('confidence') or 0):.6f}",
            row.get("agreeing_bits", "?"),
            row.get("observed_bits", "?"),
        )
        pattern_file = files.get(row.get("original_file_id") or 0)
        file_cell = pattern_file.original_name if pattern_file is not None else "read without the original"
        return format_html(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            mark,
            buyer,
            order,
            score,
            file_cell,
            date,
        )

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
