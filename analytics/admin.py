from django.contrib import admin

from analytics.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    list_display = ["kind", "user", "pattern", "query", "result_count", "created_at"]
    list_filter = ["kind"]
    search_fields = ["query"]
