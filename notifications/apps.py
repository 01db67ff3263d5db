from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """The notification centre and the e-mails sent from it."""

    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Notifications and e-mail"
