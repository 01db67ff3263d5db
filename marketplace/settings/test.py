"""Test settings: the same engines as production, isolated from the ``make run`` data.

The test run uses its own embedded Redis (so a running ``make run`` worker never picks up test tasks),
its own media folders, and the database pytest-django creates (``test_tessera``).
"""

import os

os.environ.setdefault("TESSERA_REDIS_NAME", "redis-test")

from .base import *  # noqa: E402, F403
from .base import VAR_DIR  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = VAR_DIR / "test-media"
ORIGINALS_ROOT = VAR_DIR / "test-originals"
TESSERA_CHUNK_DIR = VAR_DIR / "test-uploads"
DELIVERIES_ROOT = VAR_DIR / "test-deliveries"
TESSERA_DOWNLOAD_BACKEND = "stream"
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
LOCALSTRIPE_PORT = int(os.environ.get("LOCALSTRIPE_PORT", "8421"))
STRIPE_API_BASE = f"http://127.0.0.1:{LOCALSTRIPE_PORT}"
STRIPE_JS_URL = f"http://127.0.0.1:{LOCALSTRIPE_PORT}/js.stripe.com/v3/"
# A Celery worker started by the end-to-end tests points at the test database by this variable.
if os.environ.get("TESSERA_TEST_WORKER_DB"):
    DATABASES["default"]["NAME"] = os.environ["TESSERA_TEST_WORKER_DB"]  # noqa: F405

# --- Backpressure (issue 9) ---
# The test Redis keeps messages no worker consumed and upload counters across runs (user ids restart at 1):
# tests that check admission control set these limits themselves.
TESSERA_INGEST_QUEUE_HIGH_WATERMARK = 1_000_000
TESSERA_INGEST_BULK_QUEUE_HIGH_WATERMARK = 1_000_000
TESSERA_UPLOADS_PER_HOUR = 1_000_000

# --- Page speed (issue 10) ---
# Tests build catalogues with factories, which do not bump the page cache's catalogue version, and the test
# Redis outlives each test's database: the page cache is off unless a test turns it on (tests/test_page_cache.py).
TESSERA_PAGE_CACHE = False

# --- Outgoing webhooks (issue 11, h/webhooks) ---
# Tests deliver to receivers on 127.0.0.1 over http; the SSRF tests turn this off to see the production guard.
TESSERA_WEBHOOKS_ALLOW_PRIVATE = True

# --- Notifications and e-mail (issue 12, h/notify) ---
# Factories make users without allauth e-mail rows: selling without a verified address is allowed except in the
# tests of that rule (tests/notifications/test_verification.py), which turn it on.
TESSERA_SELL_REQUIRES_VERIFIED_EMAIL = False

# --- Listings and shops (issue 12, h/shops) ---
# Older tests approve paid patterns of creators without payouts; the payout-gate tests turn this on.
TESSERA_PAYOUTS_REQUIRED_TO_PUBLISH = False
