"""Laptop settings: ``make run`` and ``manage.py`` without an environment."""

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)

# --- Outgoing webhooks (issue 11, h/webhooks) ---
# `make run`: endpoints may be plain http on this machine (a receiver on 127.0.0.1).
TESSERA_WEBHOOKS_ALLOW_PRIVATE = env_bool("TESSERA_WEBHOOKS_ALLOW_PRIVATE", True)

# --- Notifications and e-mail (issue 12, h/notify) ---
# `make run`: e-mails are written as files under var/mail/ (TESSERA_MAIL_DIR), listed for staff at /staff/mail/.
if not TESSERA_EMAIL_PROVIDER:  # noqa: F405
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
