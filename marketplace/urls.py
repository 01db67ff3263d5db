from allauth.account.views import login as account_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularSwaggerSplitView

from catalog.models import PUBLISHED_MEDIA_PREFIX
from marketplace.health import healthz
from marketplace.login_paths import ThrottledAdminAuthenticationForm, throttled_login_view
from marketplace.metrics_export import metrics
from marketplace.pages import root_urlpatterns as page_root_urlpatterns
from marketplace.schema_views import SchemaView

# Both login pages answer 429 with Retry-After when the sign-in throttle refuses an attempt.
admin.site.login_form = ThrottledAdminAuthenticationForm
admin.site.site_header = "Tessera administration"
admin.site.site_title = "Tessera admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/login/", throttled_login_view(admin.site.login)),
    path("admin/", admin.site.urls),
    path("accounts/login/", throttled_login_view(account_login)),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("marketplace.api_urls")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script from a URL instead of inline, so the page needs
    # no CSP exception.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("metrics", metrics, name="metrics"),
    *page_root_urlpatterns,
    path("", include("marketplace.pages")),
    path("", include("payments.urls")),
    path("", include("delivery.urls")),
    path("", include("ingestion.urls")),
    path("", include("catalog.urls")),
    path("", include("webhooks.urls")),  # webhooks (h/webhooks)
    path("", include("community.urls")),  # community: reviews, favourites, collections (issue 12)
    path("", include("notifications.urls")),  # notifications (h/notify)
    path("", include("analytics.demand.urls")),  # demand gaps and trends (issue 13, h/demand)
    path("", include("provenance.urls")),  # provenance: receipts and the verify page (issue 14)
    path("", include("trust.urls")),  # takedowns and the transparency report (issue 14, h/trust)
    path("", include("analytics.urls")),  # insights beacon (issue 13, h/insights)
]

if settings.TESSERA_BENCH_FLOOR_VIEW:
    from marketplace.bench_views import floor

    urlpatterns.insert(0, path("_bench/floor", floor, name="bench-floor"))

if settings.TESSERA_SERVE_MEDIA and not settings.AWS_STORAGE_BUCKET_NAME:
    # make run and the tests only (production: nginx or S3). Only published previews live under
    # MEDIA_ROOT/published/; unpublished ones are sent by catalog's checked views, originals never.
    urlpatterns.append(
        re_path(
            rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>{PUBLISHED_MEDIA_PREFIX}.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    )
