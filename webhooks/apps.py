from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outgoing webhooks: endpoints that outside systems register, and the signed deliveries sent to them."""

    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Outgoing webhooks"
