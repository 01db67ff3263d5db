from django.urls import path

from delivery import views

app_name = "delivery"
urlpatterns = [
    path("library/", views.library, name="library"),
    path("download/<str:token>/", views.download, name="download"),
    path("licences/verify/<uuid:pk>/", views.certificate_verify, name="certificate_verify"),
    # Takedown notices for other sites (issue 14, h/leaks).
    path("sell/protection/", views.work_protection, name="protection"),
    path("sell/leaks/<int:pk>/takedown-notice/", views.leak_takedown_notice, name="leak_takedown_notice"),
    path("sell/copies/<int:pk>/takedown-notice/", views.copy_takedown_notice, name="copy_takedown_notice"),
]
