from django.contrib import admin

from community.models import Collection, Favourite, Follow, Review


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin[Review]):
    list_display = ["id", "pattern", "buyer", "rating", "hidden_at", "created_at"]
    list_filter = ["rating"]
    raw_id_fields = ["pattern", "buyer"]
    readonly_fields = ["pattern", "buyer", "rating", "text", "reply", "replied_at", "hidden_at"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin[Collection]):
    list_display = ["id", "name", "owner", "is_public", "updated_at"]
    raw_id_fields = ["owner"]


admin.site.register(Favourite)
admin.site.register(Follow)
