"""Production security: CSP without inline script, the other security headers, HTTPS behind a proxy,
`check --deploy`, and previews of unpublished patterns that no URL gives away."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from catalog import services as catalog_services
from catalog.models import PUBLISHED_MEDIA_PREFIX, Licence, Pattern, Preview, ViewerModel
from ingestion import services as ingestion_services
from ingestion import submit
from payments.cart import cart_add
from payments.models import Order
from tests import samples
from tests.conftest import ROOT, token_client
from tests.factories import OrderFactory, PatternFactory, StaffFactory, UserFactory

PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), "
    'microphone=(), midi=(), payment=(self "https://js.stripe.com"), publickey-credentials-get=(), '
    "screen-wake-lock=(), usb=(), xr-spatial-tracking=()"
)


def csp_directives(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} twice in {header}"
        directives[name] = sources
    return directives


def expected_csp(
    *, script: list[str], connect: list[str], frame: list[str], form: list[str], nonce: str = ""
) -> dict[str, list[str]]:
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'", *([f"'nonce-{nonce}'"] if nonce else []), *script],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", *connect],
        "frame-src": frame,
        "worker-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'", *form],
        "frame-ancestors": ["'none'"],
    }


@pytest.mark.django_db
def test_every_page_sends_the_security_headers(client: Client) -> None:
    localstripe = f"http://127.0.0.1:{settings.LOCALSTRIPE_PORT}"
    for path in ("/", "/accounts/login/", "/api/v1/patterns/", "/no-such-page/"):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert csp_directives(response["Content-Security-Policy"]) == expected_csp(
            script=[localstripe], connect=[localstripe], frame=["'none'"], form=[localstripe]
        ), path
        assert response["Permissions-Policy"] == PERMISSIONS_POLICY
        assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_real_stripe_and_s3_origins_are_allowed_exactly_where_needed(client: Client, settings: Any) -> None:
    settings.STRIPE_USES_LOCALSTRIPE = False
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    settings.TESSERA_CSP_MEDIA_ORIGINS = ["https://tessera-media.s3.amazonaws.com"]
    directives = csp_directives(client.get("/")["Content-Security-Policy"])
    assert directives["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    # 'none' gives way to Stripe's frames (card fields, 3-D Secure) instead of standing beside them.
    assert directives["frame-src"] == ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"]
    assert directives["connect-src"] == ["'self'", "https://api.stripe.com", "https://tessera-media.s3.amazonaws.com"]
    assert directives["img-src"] == ["'self'", "data:", "https://tessera-media.s3.amazonaws.com"]
    # The payouts form redirects to Stripe's hosted onboarding; form-action governs that redirect.
    assert directives["form-action"] == ["'self'", "https://connect.stripe.com"]


class _ScriptAudit(HTMLParser):
    """Collects every <script> and every inline event handler or javascript: URL of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.inline_handlers.append(f"<{tag} {name}={value!r}>")


def _audit(response: Any, path: str) -> int:
    assert response.status_code == 200, (path, response.status_code)
    audit = _ScriptAudit()
    audit.feed(response.content.decode())
    assert audit.inline_handlers == [], path
    directives = csp_directives(response["Content-Security-Policy"])
    allowed_nonces = {s[len("'nonce-") : -1] for s in directives["script-src"] if s.startswith("'nonce-")}
    for script in audit.scripts:
        if script.get("src"):
            continue
        assert script.get("nonce") in allowed_nonces, (path, script)
    return len(audit.scripts)


@pytest.mark.django_db
def test_no_page_has_an_inline_script_without_a_valid_nonce(client: Client, settings: Any) -> None:
    creator = UserFactory.create(username="csp_creator")
    buyer = UserFactory.create(username="csp_buyer")
    staff = StaffFactory.create(username="csp_staff")
    pattern = PatternFactory.create(creator=creator, title="CSP lamp")
    pattern_file = pattern.files.get()
    preview = Preview(pattern=pattern, pattern_file=pattern_file, label="Top view", width=8, height=8)
    preview.image.save("p.png", ContentFile(samples.png_tile(8)))
    viewer = ViewerModel(pattern_file=pattern_file, face_count=12)
    viewer.file.save("v.stl", ContentFile(samples.stl_cube()))
    order: Order = OrderFactory.create(buyer=buyer, amount=500, currency="USD", client_secret="pi_1_secret_2")

    checked = 0
    client.force_login(buyer)
    session = client.session
    cart_add(session, pattern.pk)
    session.save()
    for path in (
        "/",
        "/c/3d-printing/",
        pattern.get_absolute_url(),
        "/search/?q=lamp",
        "/search/image/",
        "/cart/",
        f"/checkout/{order.pk}/",
        "/library/",
        "/api/docs/",
    ):
        checked += _audit(client.get(path), path)
    # The 3D viewer needs no inline script (it had an import map): its loader and bundle are static files.
    detail = client.get(pattern.get_absolute_url()).content.decode()
    assert "importmap" not in detail
    assert 'src="/static/tessera/viewer-loader.js"' in detail

    client.force_login(creator)
    for path in ("/sell/new/", "/sell/", f"/sell/patterns/{pattern.pk}/", "/sell/earnings/"):
        checked += _audit(client.get(path), path)
    client.logout()
    for path in ("/accounts/login/", "/accounts/signup/"):
        checked += _audit(client.get(path), path)
    client.force_login(staff)
    for path in (
        "/admin/",
        "/admin/catalog/pattern/",
        f"/admin/catalog/pattern/{pattern.pk}/change/",
        "/admin/catalog/reviewqueue/",
        "/admin/payments/order/",
    ):
        checked += _audit(client.get(path), path)
    assert checked >= 20  # the audit saw the pages' scripts, not empty documents


def _production_env() -> dict[str, str]:
    """A complete production environment on the test database and Redis (nothing is written to them)."""
    database = settings.DATABASES["default"]
    database_url = (
        f"postgres://{quote(str(database['USER']))}:{quote(str(database['PASSWORD']))}@localhost:{database['PORT']}"
        f"/{database['NAME']}?host={quote(str(database['HOST']))}"
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_", "STRIPE_", "TESSERA_"))}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
        "DJANGO_SECRET_KEY": "prod-9Qv!r2#Lx7@mZp4$Tg8^Wk1&Hs6*Jd3(Fb5)Nc0-Ye+Ua",
        "DJANGO_ALLOWED_HOSTS": "shop.example",
        "SITE_URL": "https://shop.example",
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_CLIENT_URL,
        "STRIPE_SECRET_KEY": "sk_live_tessera_test_only",
        "STRIPE_PUBLISHABLE_KEY": "pk_live_tessera_test_only",
        "STRIPE_WEBHOOK_SECRET": "whsec_tessera_test_only",
        "TESSERA_VAR_DIR": str(settings.VAR_DIR),
        # provenance (issue 14): the log's configured Ed25519 key (base64 of 32 bytes) and its name.
        "TESSERA_PROVENANCE_SIGNING_KEY": "cHJvdmVuYW5jZS10ZXN0LW9ubHktMzItYnl0ZXMtISE=",
        "TESSERA_PROVENANCE_ORIGIN": "shop.example/provenance",
    }


PRODUCTION_PROBE = """
import io
import json
import django
from django.test import Client
from django.urls import Resolver404, resolve
# The deploy runs collectstatic (slow: it compresses every file); the probe writes the manifest it would
# write for our own static files, which are all the error pages link.
import os, pathlib
ours = pathlib.Path("marketplace/static")
names = [p.relative_to(ours).as_posix() for p in ours.rglob("*") if p.is_file()]
manifest = {"paths": {name: name for name in names}, "version": "1.1", "hash": ""}
(pathlib.Path(os.environ["TESSERA_STATIC_ROOT"]) / "staticfiles.json").write_text(json.dumps(manifest))
django.setup()
client = Client()
plain = client.get("/accounts/login/?next=/sell/", HTTP_HOST="shop.example", HTTP_X_FORWARDED_PROTO="http")
secure = client.get("/no-such-page/", HTTP_HOST="shop.example", HTTP_X_FORWARDED_PROTO="https")
try:
    resolve("/media/published/0123456789abcdef.png")
    media = "served by Django"
except Resolver404:
    media = "not served by Django"
print(json.dumps({"plain": [plain.status_code, plain.get("Location")], "secure": [secure.status_code,
    dict(secure.items())], "media": media}))
"""


@pytest.mark.django_db
def test_production_redirects_plain_http_and_sends_hsts_behind_the_proxy(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        env={**_production_env(), "TESSERA_STATIC_ROOT": str(tmp_path)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["plain"] == [301, "https://shop.example/accounts/login/?next=/sell/"]
    status, headers = probe["secure"]
    assert status == 404
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    directives = csp_directives(headers["Content-Security-Policy"])
    assert directives["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert directives["connect-src"] == ["'self'", "https://api.stripe.com"]
    assert directives["form-action"] == ["'self'", "https://connect.stripe.com"]
    assert headers["Permissions-Policy"] == PERMISSIONS_POLICY
    assert probe["media"] == "not served by Django"


@pytest.mark.django_db
def test_check_deploy_is_clean_with_production_settings() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def _pending_cube(title: str, creator: Any = None) -> Pattern:
    """A cube through validation and preview rendering into review (no model work: it is not under test)."""
    pattern = submit.pattern_create(
        creator=creator or UserFactory.create(),
        title=title,
        description="",
        price=0,
        currency="USD",
        licence=Licence.objects.get(code="cc0"),
        uploads=[SimpleUploadedFile("cube.stl", samples.stl_cube())],
    )
    for pattern_file in pattern.files.all():
        ingestion_services.pattern_file_process(pattern_file_id=pattern_file.pk)
    finalized = ingestion_services.pattern_finalize(pattern_id=pattern.pk)
    assert finalized is not None
    return finalized


def _media_urls(pattern: Pattern) -> list[str]:
    previews = list(Preview.objects.filter(pattern=pattern))
    viewers = list(ViewerModel.objects.filter(pattern_file__pattern=pattern))
    return [p.url for p in previews] + [v.url for v in viewers]


def _storage_urls(pattern: Pattern) -> list[str]:
    """Where the files would be if media were plain public files (the URLs of today's main)."""
    previews = list(Preview.objects.filter(pattern=pattern))
    viewers = list(ViewerModel.objects.filter(pattern_file__pattern=pattern))
    names = [p.image.name for p in previews] + [v.file.name for v in viewers]
    return [f"{settings.MEDIA_URL}{name}" for name in names]


@pytest.mark.django_db
def test_unpublished_previews_answer_404_to_others_and_published_ones_are_public_files(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    creator = UserFactory.create(username="preview_creator")
    pattern = _pending_cube("Private cube", creator)
    assert pattern.status == "needs_review", pattern.status_reason
    pending_urls = _media_urls(pattern)
    assert len(pending_urls) == 4  # three rendered views and the viewer mesh
    stored = _storage_urls(pattern)
    assert not any(pattern.files.get().sha256[:16] in url for url in stored)  # names are random, not derived

    for url in pending_urls + stored:
        assert client.get(url).status_code == 404, url
    assert token_client(UserFactory.create()).get(pending_urls[0]).status_code == 404
    # The creator sees them on the status page and can load each (session and API token alike).
    client.force_login(creator)
    page = client.get(f"/sell/patterns/{pattern.pk}/").content.decode()
    for url in pending_urls[:3]:
        assert f'src="{url}"' in page
    for url in pending_urls:
        response = client.get(url)
        assert response.status_code == 200
        assert response["Cache-Control"] == "private, max-age=300"
    assert client.get(pending_urls[0]).getvalue().startswith(b"\x89PNG")
    assert token_client(creator).get(pending_urls[0]).status_code == 200
    client.logout()

    staff = StaffFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.pattern_moderate(pattern=pattern, moderator=staff, action="approve")
    published_urls = _media_urls(pattern)
    assert all(url.startswith(settings.MEDIA_URL + PUBLISHED_MEDIA_PREFIX) for url in published_urls)
    assert set(published_urls).isdisjoint(pending_urls + stored)
    for url in published_urls:  # plain files (nginx / S3 in production), no permission check
        response = client.get(url)
        assert response.status_code == 200, url
    assert [client.get(url).status_code for url in stored] == [404] * 4  # the names used before are gone

    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.pattern_moderate(pattern=pattern, moderator=staff, action="reject", reason="Not original")
    hidden_urls = _media_urls(pattern)
    for url in published_urls + hidden_urls + _storage_urls(pattern):
        assert client.get(url).status_code == 404, url
    client.force_login(creator)
    assert [client.get(url).status_code for url in hidden_urls] == [200, 200, 200, 200]


@pytest.mark.django_db
def test_reprocessing_a_published_pattern_takes_its_files_off_their_public_urls(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    pattern = _pending_cube("Reprocessed cube")
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.pattern_moderate(pattern=pattern, moderator=StaffFactory.create(), action="approve")
    public = _media_urls(pattern)
    assert [client.get(url).status_code for url in public] == [200, 200, 200, 200]
    with django_capture_on_commit_callbacks(execute=False):
        ingestion_services.pattern_reprocess(pattern=pattern)
    assert [client.get(url).status_code for url in public + _media_urls(pattern)] == [404] * 8


@pytest.mark.django_db
def test_previews_published_before_the_upgrade_move_to_public_names_once(client: Client) -> None:
    pattern = _pending_cube("Old cube")
    Pattern.objects.filter(pk=pattern.pk).update(status="published")  # as published by an older version
    legacy = _media_urls(pattern)
    assert [client.get(url).status_code for url in legacy] == [200] * 4  # through the checked views
    out = io.StringIO()
    call_command("publish_preview_media", stdout=out)
    # Three previews, their 12 srcset renditions (WebP 320/640/800 w and a PNG each) and the viewer mesh.
    assert out.getvalue().strip() == "Moved 16 files to public names."
    public = _media_urls(pattern)
    assert all(url.startswith(settings.MEDIA_URL + PUBLISHED_MEDIA_PREFIX) for url in public)
    assert [client.get(url).status_code for url in public] == [200] * 4
    call_command("publish_preview_media", stdout=out)
    assert _media_urls(pattern) == public
