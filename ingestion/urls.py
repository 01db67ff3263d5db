from django.urls import path

from ingestion import views

app_name = "ingestion"
urlpatterns = [
    path("sell/new/", views.pattern_create, name="pattern-create"),
    path("sell/patterns/<int:pk>/resubmit/", views.pattern_resubmit, name="pattern-resubmit"),
    path("sell/patterns/<int:pk>/versions/new/", views.pattern_version_create, name="pattern-version-create"),
]
