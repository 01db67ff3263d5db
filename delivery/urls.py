from django.urls import path

from delivery import views

app_name = "delivery"
urlpatterns = [
    path("library/", views.library, name="library"),
    path("download/<str:token>/", views.download, name="download"),
    path("licences/verify/<uuid:pk>/", views.certificate_verify, name="certificate_verify"),
]
