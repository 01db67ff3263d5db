from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from community import services
from community.models import Collection, Favourite, Follow, Review


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin[Review]):
    list_display = ["id", "pattern", "buyer", "rating", "hidden_at", "created_at"]
    list_filter = ["rating"]
    raw_id_fields = ["pattern", "buyer"]
    readonly_fields = ["pattern", "buyer", "rating", "text", "reply", "replied_at", "hidden_at"]
    actions = ["hide", "show"]

    @admin.action(description="Hide the selected reviews (out of lists and averages)")
    def hide(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        for review in queryset:
            services.review_set_hidden(review=review, user=request.user, hidden=True)

    @admin.action(description="Show the selected reviews again")
    def show(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        for review in queryset:
            services.review_set_hidden(review=review, user=request.user, hidden=False)


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin[Collection]):
    list_display = ["id", "name", "owner", "is_public", "updated_at"]
    raw_id_fields = ["owner"]


admin.site.register(Favourite)
admin.site.register(Follow)
