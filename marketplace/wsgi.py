"""WSGI entry point (gunicorn in production)."""

import os

from django.core.wsgi import get_wsgi_application

from catalog.warmup import models_warm

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.local")
application = get_wsgi_application()


def _warm_models() -> None:
    # Each gunicorn worker imports this module before it accepts a connection: the models load here, once per
    # worker, so the first search and image search answer at full speed (TESSERA_WARM_MODELS).
    from django.conf import settings

    if settings.TESSERA_WARM_MODELS:
        models_warm()


_warm_models()
