"""The site's own pages: policies and trust (terms, privacy, refunds, licences, about, contact), robots.txt,
sitemap.xml, the favicon at its conventional address, and the error pages' views.

Included from ``marketplace.urls`` under the ``pages`` namespace (``{% url 'pages:terms' %}``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps.views import sitemap
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import path, reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from catalog import selectors as catalog_selectors
from catalog.models import Pattern

app_name = "pages"

POLICY_PAGES = ["about", "licences", "refunds", "terms", "privacy", "contact"]

# Paths crawlers have no business in: private pages, forms, downloads and the API.
ROBOTS_DISALLOW = ["/sell/", "/admin/", "/accounts/", "/cart/", "/checkout/", "/library/", "/download/", "/api/"]


def site_meta(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the site's public address and this page's canonical URL (no query string)."""
    site_url = str(settings.SITE_URL).rstrip("/")
    return {"site_url": site_url, "canonical_url": f"{site_url}{request.path}"}


def _page(name: str) -> Any:
    @require_safe
    @cache_control(public=True, max_age=600)
    def view(request: HttpRequest) -> HttpResponse:
        context: dict[str, Any] = {"contact_email": settings.TESSERA_CONTACT_EMAIL}
        if name == "licences":
            context["open_licences"] = [lic for lic in catalog_selectors.licence_list() if lic.url]
        if name in ("refunds", "terms"):
            context["platform_fee_percent"] = settings.TESSERA_PLATFORM_FEE_BPS / 100
            context["payout_hold_days"] = settings.TESSERA_PAYOUT_HOLD_DAYS
            context["refund_window_days"] = settings.TESSERA_REFUND_WINDOW_DAYS
        return render(request, f"pages/{name}.html", context)

    view.__name__ = f"{name}_page"
    return view


@require_safe
@cache_control(public=True, max_age=3600)
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = ["User-agent: *", *(f"Disallow: {prefix}" for prefix in ROBOTS_DISALLOW), ""]
    lines.append(f"Sitemap: {str(settings.SITE_URL).rstrip('/')}{reverse('sitemap')}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@require_safe
def favicon_ico(request: HttpRequest) -> HttpResponse:
    """Browsers and crawlers ask for /favicon.ico whatever the page's <link rel=icon> says."""
    return redirect(static("tessera/favicon.ico"), permanent=True)


class SiteUrlSitemap(Sitemap[Any]):
    """Addresses on SITE_URL (the public origin), not on the django.contrib.sites row (example.com)."""

    def get_protocol(self, protocol: str | None = None) -> str:
        return urlparse(str(settings.SITE_URL)).scheme or "https"

    def get_domain(self, site: Any = None) -> str:
        return urlparse(str(settings.SITE_URL)).netloc


class PatternSitemap(SiteUrlSitemap):
    changefreq = "weekly"
    priority = 0.8
    limit = 10_000

    def items(self) -> Any:
        return catalog_selectors.pattern_list_for_sitemap()

    def lastmod(self, item: Pattern) -> Any:
        return item.updated_at


class CategorySitemap(SiteUrlSitemap):
    changefreq = "daily"
    priority = 0.6

    def items(self) -> Any:
        return catalog_selectors.category_list()


class PageSitemap(SiteUrlSitemap):
    changefreq = "monthly"
    priority = 0.3

    def items(self) -> list[str]:
        return ["catalog:home", *(f"pages:{name}" for name in POLICY_PAGES)]

    def location(self, item: str) -> str:
        return reverse(item)


SITEMAPS: dict[str, Any] = {"pages": PageSitemap, "categories": CategorySitemap, "patterns": PatternSitemap}

urlpatterns = [path(f"{name}/", _page(name), name=name) for name in POLICY_PAGES]

# Outside the namespace: fixed, well-known addresses.
root_urlpatterns = [
    path("robots.txt", robots_txt, name="robots-txt"),
    path("favicon.ico", favicon_ico, name="favicon-ico"),
    path(
        "sitemap.xml",
        cache_control(public=True, max_age=3600)(sitemap),
        {"sitemaps": SITEMAPS},
        name="sitemap",
    ),
]
