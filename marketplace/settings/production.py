"""Production settings: every value production needs must be set, or start-up fails loudly."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, env_bool, env_int

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

# --- HTTPS, HSTS and media exposure (issue 9) -------------------------------------------------------
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients): plain-HTTP
# requests are redirected to https (DJANGO_SECURE_SSL_REDIRECT=0 when the proxy already redirects, e.g.
# for a loopback benchmark), and browsers are told to use https for a year, subdomains included.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# Regexes (comma-separated, no leading slash) of paths a load balancer probes over plain HTTP.
SECURE_REDIRECT_EXEMPT = [p for p in env("DJANGO_SECURE_REDIRECT_EXEMPT").split(",") if p]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# `preload` only makes the domain eligible for the browsers' built-in list (it is added by submitting it at
# hstspreload.org); set DJANGO_SECURE_HSTS_PRELOAD=0 for a domain that must keep plain-HTTP subdomains.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
# Media is never sent by django.views.static.serve in production: published previews come from S3 or from
# the web server (nginx `location /media/published/`), unpublished ones only through the checked view.
TESSERA_SERVE_MEDIA = False

# --- Faults: health checks (issue 9) ---------------------------------------------------------------
# The container health check calls /healthz over plain HTTP from inside the container.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Outgoing webhooks (issue 11, h/webhooks) ---
# Never in production: endpoints must be https on public addresses (no loopback, private, link-local or cloud
# metadata address, checked at registration and at every send).
TESSERA_WEBHOOKS_ALLOW_PRIVATE = False

# --- Provenance (issue 14, h/provenance) ---
# The log's signing key is configured, never generated: a key generated on a fresh container would sign
# checkpoints nobody can tie to the published key. The origin names the public log.
TESSERA_PROVENANCE_GENERATE_KEY = False
if not (env("TESSERA_PROVENANCE_SIGNING_KEY") or env("TESSERA_PROVENANCE_SIGNING_KEY_FILE")):
    raise ImproperlyConfigured(
        "TESSERA_PROVENANCE_SIGNING_KEY (or TESSERA_PROVENANCE_SIGNING_KEY_FILE) must be set in production"
    )
if not env("TESSERA_PROVENANCE_ORIGIN"):
    raise ImproperlyConfigured("TESSERA_PROVENANCE_ORIGIN must be set in production")
