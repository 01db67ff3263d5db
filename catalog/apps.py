from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import django_stubs_ext
        from rest_framework import generics, serializers

        django_stubs_ext.monkeypatch(
            extra_classes=[
                generics.GenericAPIView,
                generics.ListAPIView,
                generics.RetrieveAPIView,
                serializers.Serializer,
                serializers.ModelSerializer,
            ]
        )
