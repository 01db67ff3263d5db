from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("search/request/", views.search_request, name="search-request"),
    path("search/image/", views.search_by_image, name="search-image"),
    path("c/<slug:slug>/", views.category, name="category"),
    path("creators/<str:username>/", views.creator_shop, name="creator-shop"),
    path("p/<slug:slug>/", views.pattern_detail, name="pattern-detail"),
    path("previews/<int:pk>/", views.preview_file, name="preview-file"),
    path("previews/renditions/<int:pk>/", views.preview_rendition_file, name="preview-rendition-file"),
    path("previews/viewer/<int:pk>/", views.viewer_model_file, name="viewer-model-file"),
    path("sell/", views.dashboard, name="dashboard"),
    path("sell/profile/", views.creator_profile_edit, name="profile-edit"),
    path("sell/start/", views.start_selling, name="start-selling"),
    path("sell/patterns/<int:pk>/", views.pattern_status, name="pattern-status"),
    path("sell/patterns/<int:pk>/edit/", views.pattern_edit, name="pattern-edit"),
    path("sell/patterns/<int:pk>/lifecycle/", views.pattern_lifecycle, name="pattern-lifecycle"),
    path("sell/patterns/<int:pk>/delete/", views.pattern_delete_confirm, name="pattern-delete"),  # h/studio
    path("sell/patterns/<int:pk>/status.json", views.pattern_status_json, name="pattern-status-json"),
    path("sell/patterns/<int:pk>/tags/", views.pattern_tags_add, name="pattern-tags-add"),
    path(
        "sell/patterns/<int:pk>/tags/<int:suggestion_id>/",
        views.tag_suggestion_decide,
        name="tag-suggestion-decide",
    ),
]
