"""Production settings: every value production needs must be set, or start-up fails loudly."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
for required in ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOWED_HOSTS", "SITE_URL"):
    if not env(required):
        raise ImproperlyConfigured(f"{required} must be set in production")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}  # noqa: F405
WHITENOISE_USE_FINDERS = False

# --- Stripe in production (issue 9) ---
# Without a real key base.py falls back to the local emulator, its public webhook secret and the
# raw-card confirm endpoint: in production that would take no money and accept forged webhooks.
for required in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
    if not env(required):
        raise ImproperlyConfigured(f"{required} must be set in production")
if env("STRIPE_SECRET_KEY") == "sk_test_localstripe" or env("STRIPE_WEBHOOK_SECRET") == "whsec_localstripe":
    raise ImproperlyConfigured("The local Stripe emulator's keys cannot be used in production")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY")
STRIPE_USES_LOCALSTRIPE = False  # also turns off payments.views.checkout_confirm_local (404)
STRIPE_API_BASE = "https://api.stripe.com"
STRIPE_JS_URL = "https://js.stripe.com/v3/"

# --- Metrics (issue 9) ---
# Behind a proxy every client can look like 127.0.0.1: only the bearer token opens /metrics.
TESSERA_METRICS_LOOPBACK_OPEN = False
