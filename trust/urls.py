from django.urls import path

from trust import views

app_name = "trust"

urlpatterns = [
    path("legal/takedown/", views.takedown_form, name="takedown"),
    path("legal/takedown/received/<int:pk>/", views.notice_received, name="notice-received"),
    path("legal/takedown/<int:pk>/", views.notice_status, name="notice-status"),
    path("legal/transparency/", views.transparency, name="transparency"),
]
