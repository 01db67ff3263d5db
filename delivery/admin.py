from django.contrib import admin

from delivery.models import DownloadEvent, Entitlement


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin[Entitlement]):
    list_display = ["buyer", "pattern", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]


@admin.register(DownloadEvent)
class DownloadEventAdmin(admin.ModelAdmin[DownloadEvent]):
    list_display = ["user", "pattern_file", "ip_address", "created_at"]
