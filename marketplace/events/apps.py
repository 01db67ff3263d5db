from django.apps import AppConfig


class EventsConfig(AppConfig):
    """Domain events: the append-only record of what happened and who did it, and its outbox."""

    name = "marketplace.events"
    label = "events"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Domain events"
