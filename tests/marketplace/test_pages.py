"""The site's own pages: account (allauth) pages in our layout, error pages, policy pages, robots.txt, sitemap."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from catalog.models import Pattern
from tests.factories import PatternFactory, UserFactory

pytestmark = pytest.mark.django_db

SITE_HEADER = '<header class="site">'
FOOTER_LINKS = ["/terms/", "/privacy/", "/refunds/", "/licences/", "/about/", "/contact/", "/api/docs/"]


def assert_our_layout(html: str, *, title: str) -> None:
    assert html.startswith('<!doctype html>\n<html lang="en">'), html[:80]
    assert SITE_HEADER in html
    assert 'class="skip-link" href="#main"' in html
    assert "Menu:" not in html
    titles = re.findall("<title>.*?</title>", html, re.S)
    assert re.search(rf"<title>\s*{re.escape(title)}\s*· Tessera</title>", html), titles
    for href in FOOTER_LINKS:
        assert f'href="{href}"' in html


ANONYMOUS_ACCOUNT_PAGES = [
    ("account_login", {}, "Sign In"),
    ("account_signup", {}, "Signup"),
    ("account_reset_password", {}, "Password Reset"),
    ("account_reset_password_done", {}, "Password Reset"),
    ("account_reset_password_from_key", {"uidb36": "1", "key": "bad-key"}, "Change Password"),
    ("account_reset_password_from_key_done", {}, "Change Password"),
    ("account_email_verification_sent", {}, "Verify Your Email Address"),
    ("account_confirm_email", {"key": "not-a-key"}, "Confirm Email Address"),
]
SIGNED_IN_ACCOUNT_PAGES = [
    ("account_logout", "Sign Out"),
    ("account_change_password", "Change Password"),
    ("account_email", "Email Addresses"),
]


@pytest.mark.parametrize(("name", "kwargs", "title"), ANONYMOUS_ACCOUNT_PAGES)
def test_account_pages_for_visitors_use_our_layout(
    client: Client, name: str, kwargs: dict[str, str], title: str
) -> None:
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    html = response.content.decode()
    assert_our_layout(html, title=title)
    assert '<main id="main" tabindex="-1" class="auth entrance">' in html


@pytest.mark.parametrize(("name", "title"), SIGNED_IN_ACCOUNT_PAGES)
def test_account_pages_for_members_use_our_layout(client: Client, name: str, title: str) -> None:
    user = UserFactory.create(username="member")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    client.force_login(user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert_our_layout(response.content.decode(), title=title)


def test_password_set_page_uses_our_layout(client: Client) -> None:
    user = UserFactory.create(username="no_password")
    user.set_unusable_password()
    user.save()
    client.force_login(user)
    response = client.get(reverse("account_set_password"))
    assert response.status_code == 200
    assert_our_layout(response.content.decode(), title="Set Password")


def test_sign_in_form_has_labelled_fields_our_buttons_and_styled_errors(client: Client) -> None:
    UserFactory.create(username="known")
    html = client.get(reverse("account_login")).content.decode()
    assert '<div class="field">' in html
    assert '<label for="id_login">' in html
    assert '<label for="id_password">' in html
    assert re.search(r'<button class="btn block"\s+type="submit">\s*Sign In', html)
    response = client.post(reverse("account_login"), {"login": "known", "password": "wrong"})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<div class="alert err" role="alert"><ul class="errorlist nonfield">' in html
    assert "The username and/or password you specified are not correct." in html


def test_sign_up_errors_are_shown_next_to_their_field(client: Client) -> None:
    response = client.post(
        reverse("account_signup"),
        {"email": "not-an-email", "username": "new", "password1": "x", "password2": "y"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    email_field = re.search(r'<div class="field has-error">\s*<label for="id_email">.*?</div>', html, re.S)
    assert email_field is not None
    assert 'aria-invalid="true"' in email_field.group(0)
    assert '<ul class="errorlist' in email_field.group(0)


# --------------------------------------------------------------------------------------------- error pages


@pytest.mark.urls("tests.marketplace.error_urls")
def test_a_missing_page_is_our_404(client: Client, settings: Any) -> None:
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert_our_layout(html, title="Page not found")
    assert "We can’t find that page" in html
    assert '<label class="visually-hidden" for="notfound-q">Search patterns</label>' in html


@pytest.mark.urls("tests.marketplace.error_urls")
def test_a_forbidden_page_is_our_403(client: Client, settings: Any) -> None:
    settings.DEBUG = False
    response = client.get("/test-errors/403/")
    assert response.status_code == 403
    html = response.content.decode()
    assert_our_layout(html, title="Not allowed")
    assert "You can’t open this page" in html
    assert 'href="/accounts/login/?next=/test-errors/403/"' in html


@pytest.mark.urls("tests.marketplace.error_urls")
def test_a_bad_request_is_our_400(client: Client, settings: Any) -> None:
    settings.DEBUG = False
    response = client.get("/test-errors/400/")
    assert response.status_code == 400
    html = response.content.decode()
    assert_our_layout(html, title="Bad request")
    assert "That address is not valid" in html


@pytest.mark.urls("tests.marketplace.error_urls")
def test_a_crash_is_our_500_without_any_context(client: Client, settings: Any) -> None:
    settings.DEBUG = False
    client.raise_request_exception = False
    response = client.get("/test-errors/500/")
    assert response.status_code == 500
    html = response.content.decode()
    assert html.startswith("<!doctype html>")
    assert '<html lang="en">' in html
    assert SITE_HEADER in html
    assert "Something went wrong on our side" in html
    assert "/static/tessera/site.css" in html
    assert "boom" not in html
    assert "Traceback" not in html


def test_500_template_renders_with_no_context_at_all() -> None:
    from django.template import loader

    html = loader.get_template("500.html").render()
    assert "Something went wrong on our side" in html


# ------------------------------------------------------------------------------------------- policy pages


POLICY_PAGES = [
    ("/terms/", "Terms of use", "Only sell work you made yourself"),
    ("/privacy/", "Privacy notice", "the IP address it was downloaded from"),
    ("/refunds/", "Refund policy", "A full refund ends your licence"),
    ("/licences/", "Licences explained", "Commercial licence, in plain words"),
    ("/about/", "About Tessera", "Every file is checked before you pay"),
    ("/contact/", "Contact", "help@tessera.example"),
]


@pytest.mark.parametrize(("url", "title", "text"), POLICY_PAGES)
def test_policy_pages(client: Client, url: str, title: str, text: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert_our_layout(html, title=title)
    assert text in html
    assert f'<link rel="canonical" href="{django_settings.SITE_URL}{url}">' in html
    assert '<meta property="og:title"' in html
    assert '<meta name="description"' in html


def test_licences_page_links_every_cc_licence_and_shows_every_card(client: Client) -> None:
    html = client.get("/licences/").content.decode()
    for code, url in [
        ("cc0", "https://creativecommons.org/publicdomain/zero/1.0/"),
        ("cc-by", "https://creativecommons.org/licenses/by/4.0/"),
        ("cc-by-sa", "https://creativecommons.org/licenses/by-sa/4.0/"),
        ("cc-by-nc", "https://creativecommons.org/licenses/by-nc/4.0/"),
    ]:
        assert f'id="licence-{code}"' in html
        assert f'href="{url}"' in html
    assert 'id="licence-personal"' in html
    assert 'id="licence-commercial"' in html
    assert 'href="/licences/#commercial-terms"' in html


def test_listing_form_shows_the_licence_cards(client: Client) -> None:
    client.force_login(UserFactory.create())
    html = client.get(reverse("ingestion:pattern-create")).content.decode()
    assert html.count('<li class="card" id="licence-') == 6
    assert "Make and sell physical items from the pattern, in any quantity" in html


def test_licence_cards_for_a_pattern_show_only_its_tiers_with_prices() -> None:
    from django.template import Context, Template

    pattern = PatternFactory.create(price=800, commercial_price=2500)
    html = Template("{% load tessera %}{% licence_cards pattern=pattern %}").render(Context({"pattern": pattern}))
    assert re.findall(r'id="licence-([a-z0-9-]+)"', html) == ["personal", "commercial"]
    assert "USD 8.00" in html
    assert "USD 25.00" in html


def test_every_page_has_a_favicon_and_open_graph(client: Client) -> None:
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/tessera/favicon.svg" type="image/svg+xml">' in html
    assert '<link rel="icon" href="/static/tessera/favicon-32.png" type="image/png" sizes="32x32">' in html
    assert '<meta property="og:image" content="http://127.0.0.1:8000/static/tessera/og-image.png">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (301, "/static/tessera/favicon.ico")


# ---------------------------------------------------------------------------------------- robots, sitemap


def test_robots_txt(client: Client) -> None:
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == (
        "User-agent: *\n"
        "Disallow: /sell/\n"
        "Disallow: /admin/\n"
        "Disallow: /accounts/\n"
        "Disallow: /cart/\n"
        "Disallow: /checkout/\n"
        "Disallow: /library/\n"
        "Disallow: /download/\n"
        "Disallow: /api/\n"
        "\n"
        "Sitemap: http://127.0.0.1:8000/sitemap.xml\n"
    )


def test_sitemap_lists_published_patterns_categories_and_policy_pages_only(client: Client) -> None:
    published = PatternFactory.create(slug="published-lamp", with_file=False)
    Pattern.objects.filter(pk=published.pk).update(updated_at=datetime(2026, 3, 4, 5, 6, tzinfo=UTC))
    PatternFactory.create(slug="draft-lamp", status=Pattern.Status.DRAFT, with_file=False)
    PatternFactory.create(slug="rejected-lamp", status=Pattern.Status.REJECTED, with_file=False)
    PatternFactory.create(slug="waiting-lamp", status=Pattern.Status.NEEDS_REVIEW, with_file=False)
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    namespace = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ElementTree.fromstring(response.content)  # noqa: S314 (our own response)
    entries = {
        url.findtext("s:loc", namespaces=namespace): url.findtext("s:lastmod", namespaces=namespace)
        for url in root.findall("s:url", namespace)
    }
    base = "http://127.0.0.1:8000"
    patterns = {loc: lastmod for loc, lastmod in entries.items() if "/p/" in str(loc)}
    assert patterns == {f"{base}/p/published-lamp/": "2026-03-04"}
    assert {f"{base}/c/3d-printing/", f"{base}/c/laser-cnc/", f"{base}/c/sewing-knitting/"} <= set(entries)
    for path in ["/", "/terms/", "/privacy/", "/refunds/", "/licences/", "/about/", "/contact/"]:
        assert f"{base}{path}" in entries
    assert not any(part in str(loc) for loc in entries for part in ("/accounts/", "/sell/", "/cart/"))
