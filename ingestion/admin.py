"""Ingestion's part of the pattern admin: the "reprocess" action.

The pattern admin pages are catalog's (catalog/admin.py). Ingestion sits above catalog (see the README's
Layering), so catalog's admin cannot call ingestion; instead ingestion registers its own subclasses of catalog's
pattern admins with the action added. catalog precedes ingestion in INSTALLED_APPS, and this module imports
catalog.admin first anyway, so these registrations replace catalog's.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog.admin import PatternAdmin, ReviewQueueAdmin
from catalog.models import Pattern, ReviewQueue
from ingestion.services import pattern_reprocess


@admin.action(description="Reprocess selected patterns from their originals", permissions=["change"])
def reprocess(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Pattern]) -> None:
    for pattern in queryset:
        pattern_reprocess(pattern=pattern, actor=request.user)  # type: ignore[arg-type]
    modeladmin.message_user(request, f"Queued {queryset.count()} pattern(s) for processing.")


class IngestionPatternAdmin(PatternAdmin):
    actions = [*PatternAdmin.actions, reprocess]


class IngestionReviewQueueAdmin(ReviewQueueAdmin):
    actions = [*ReviewQueueAdmin.actions, reprocess]


for model, model_admin in ((Pattern, IngestionPatternAdmin), (ReviewQueue, IngestionReviewQueueAdmin)):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
