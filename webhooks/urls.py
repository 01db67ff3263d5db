from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("account/webhooks/", views.endpoint_list, name="endpoint-list"),
    path("account/webhooks/<int:pk>/", views.endpoint_detail, name="endpoint-detail"),
    path("account/webhooks/<int:pk>/rotate/", views.endpoint_rotate, name="endpoint-rotate"),
    path("account/webhooks/<int:pk>/test/", views.endpoint_test, name="endpoint-test"),
    path("account/webhooks/<int:pk>/status/", views.endpoint_status, name="endpoint-status"),
    path("account/webhooks/<int:pk>/delete/", views.endpoint_delete, name="endpoint-delete"),
    path(
        "account/webhooks/<int:pk>/deliveries/<int:delivery_id>/replay/",
        views.delivery_replay,
        name="delivery-replay",
    ),
]
