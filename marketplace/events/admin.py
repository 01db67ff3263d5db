from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from marketplace.events.models import EventRecord, HandlerReceipt


@admin.register(EventRecord)
class EventRecordAdmin(admin.ModelAdmin):
    """The audit history: read-only."""

    list_display = ("id", "type", "actor_username", "subject_type", "subject_id", "at")
    list_filter = ("type", "subject_type")
    search_fields = ("type", "actor_username", "=subject_id")
    readonly_fields = [field.name for field in EventRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(HandlerReceipt)
class HandlerReceiptAdmin(admin.ModelAdmin):
    list_display = ("id", "handler", "event", "status", "attempts", "next_attempt_at", "done_at")
    list_filter = ("status", "handler")
    readonly_fields = [field.name for field in HandlerReceipt._meta.fields]
    list_select_related = ("event",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
