from django.urls import path

from analytics import dashboard_views, views

app_name = "analytics"

urlpatterns = [
    path("t/", views.beacon, name="beacon"),
    # The insights pages (issue 13, h/dash).
    path("sell/insights/", dashboard_views.shop_insights_page, name="insights"),
    path("sell/insights/patterns/<int:pk>/", dashboard_views.pattern_insights_page, name="pattern-insights"),
    path("staff/insights/", dashboard_views.marketplace_insights_page, name="marketplace-insights"),
]
