from django.urls import path

from provenance import views

app_name = "provenance"
urlpatterns = [
    path("sell/patterns/<int:pk>/authorship-receipt.json", views.receipt_download, name="receipt"),
    path("provenance/verify/", views.verify, name="verify"),
]
