from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("account/notifications/", views.notification_list, name="list"),
    path("account/notifications/read-all/", views.read_all, name="read-all"),
    path("account/notifications/<int:pk>/open/", views.notification_open, name="open"),
    path("account/email-preferences/", views.preferences, name="preferences"),
    path("email/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("staff/mail/", views.mail_outbox, name="mail-outbox"),
]
