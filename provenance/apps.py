from django.apps import AppConfig


class ProvenanceConfig(AppConfig):
    """Proof of authorship: the append-only Merkle log of uploads, its signed checkpoints and receipts."""

    name = "provenance"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Proof of authorship"
