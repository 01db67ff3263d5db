from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from webhooks.models import Delivery, DeliveryAttempt, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "url", "status", "failing_since", "created_at")
    list_filter = ("status",)
    search_fields = ("url", "owner__username")
    list_select_related = ("owner",)
    exclude = ("secret", "previous_secret")
    readonly_fields = ("owner", "previous_secret_expires_at", "failing_since", "created_at")


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    readonly_fields = [field.name for field in DeliveryAttempt._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "endpoint", "event_type", "webhook_id", "status", "attempt_count", "next_attempt_at")
    list_filter = ("status", "event_type")
    search_fields = ("=webhook_id",)
    list_select_related = ("endpoint",)
    readonly_fields = [field.name for field in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
