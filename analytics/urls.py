from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("t/", views.beacon, name="beacon"),
]
