from django.urls import path

from ingestion import views

app_name = "ingestion"
urlpatterns = [
    path("sell/new/", views.pattern_create, name="pattern-create"),
    path("sell/patterns/<int:pk>/resubmit/", views.pattern_resubmit, name="pattern-resubmit"),
]
