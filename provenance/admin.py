"""The authorship log in the admin: read-only (the database refuses changes anyway)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from provenance.models import Checkpoint, CheckpointTimestamp, LogLeaf


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LogLeaf)
class LogLeafAdmin(ReadOnlyAdmin):
    list_display = ("index", "pattern_id", "version", "creator_id", "created_at")
    search_fields = ("=pattern_id", "=creator_id")
    readonly_fields = ("index", "pattern_id", "version", "creator_id", "leaf_data", "created_at")
    exclude = ("leaf_hash",)


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ("tree_size", "created_at")
    readonly_fields = ("tree_size", "note", "public_key", "created_at")
    exclude = ("root_hash",)


@admin.register(CheckpointTimestamp)
class CheckpointTimestampAdmin(ReadOnlyAdmin):
    list_display = ("checkpoint", "tsa_url", "gen_time")
    readonly_fields = ("checkpoint", "tsa_url", "gen_time", "created_at")
    exclude = ("response",)
    list_select_related = ("checkpoint",)
