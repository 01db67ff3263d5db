from django.urls import path

from analytics.demand import views

app_name = "demand"
urlpatterns = [
    path("sell/insights/demand/", views.demand_page, name="report"),
]
