"""Real-browser checks in headless Chromium: sign in, cart, Stripe.js checkout, library download; upload form.

Needs Debian's chromium (``/usr/bin/chromium``); .ci/run installs it. Without it these tests are skipped with
that reason.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from catalog.models import Pattern
from delivery.models import DownloadEvent, Entitlement, MarkedFile
from ingestion.models import UploadSession
from marketplace import devserver
from payments.models import Order
from tests import samples
from tests.browser import needs_chromium
from tests.conftest import wait_for
from tests.factories import PatternFactory, UserFactory

pytestmark = [pytest.mark.e2e, needs_chromium]


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", "secret-pass-123")
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")


def _checkout(page: Any, base: str, *, title: str, price: int, username: str) -> Any:
    """Sign in a new buyer, put a new pattern in the cart and open its Stripe.js checkout page."""
    devserver.register_localstripe_webhook(
        port=settings.LOCALSTRIPE_PORT, url=f"{base}/api/v1/stripe/webhook/", secret=settings.STRIPE_WEBHOOK_SECRET
    )
    pattern = PatternFactory.create(title=title, price=price)
    buyer = UserFactory.create(username=username)
    _log_in(page, base, username)
    page.goto(f"{base}{pattern.get_absolute_url()}")
    page.click("text=Add to cart")
    page.wait_for_url(f"{base}/cart/")
    page.click("text=Check out")
    page.wait_for_url("**/checkout/*/")
    return buyer


def test_buyer_pays_with_stripe_js_and_downloads(
    live_server: Any, localstripe: str, celery_worker_process: Any, page: Any
) -> None:
    base = live_server.url
    buyer = _checkout(page, base, title="Lighthouse lamp", price=1250, username="browser_buyer")
    assert "USD 12.50" in page.content()
    # localstripe's Stripe.js card element: number, expiry month/year, CVC, postal code.
    inputs = page.locator("#card-element input")
    for index, value in enumerate(["4242424242424242", "12", "30", "123", "75001"]):
        inputs.nth(index).fill(value)
    page.click("#pay")
    page.wait_for_url(f"{base}/library/", timeout=30_000)
    assert "Lighthouse lamp" in page.content()
    order = Order.objects.get(buyer=buyer)
    assert (order.status, order.amount) == ("paid", 1250)
    # The worker marks the buyer's copy; if it is not ready yet the page says so and reloads until it is.
    with page.expect_download(timeout=60_000) as download_info:
        page.click("text=model.stl")
    download = download_info.value
    assert download.suggested_filename == "model.stl"
    marked = MarkedFile.objects.get(entitlement__buyer=buyer)
    delivered = Path(download.path()).read_bytes()
    assert hashlib.sha256(delivered).hexdigest() == marked.sha256
    assert delivered != samples.stl_cube()
    assert DownloadEvent.objects.filter(user=buyer).count() == 1


def test_a_declined_card_shows_why_and_leaves_the_order_unpaid_until_a_good_card_pays(
    live_server: Any, localstripe: str, celery_worker_process: Any, page: Any
) -> None:
    base = live_server.url
    buyer = _checkout(page, base, title="Declined lamp", price=900, username="browser_decline")
    checkout_url = page.url
    inputs = page.locator("#card-element input")
    for number, message in [
        ("4000000000000002", "Your card was declined."),
        ("4000000000009995", "Your card has insufficient funds."),
        ("4000002760003184", "requires authentication (3-D Secure)"),
    ]:
        for index, value in enumerate([number, "12", "30", "123", "75001"]):
            inputs.nth(index).fill(value)
        page.click("#pay")
        page.wait_for_selector(f"#payment-message:has-text('{message}')", timeout=20_000)
        assert page.url == checkout_url
        assert page.locator("#pay").is_enabled()
        order = Order.objects.get(buyer=buyer)
        assert (order.status, order.paid_at) == ("pending", None)
        assert not Entitlement.objects.filter(buyer=buyer).exists()
    # Stripe's payment_failed event reached the server: a reload still says why.
    wait_for(lambda: Order.objects.get(buyer=buyer).failure_reason, what="the decline reason")
    # The same order is then paid with a good card.
    inputs.nth(0).fill("4242424242424242")
    page.click("#pay")
    page.wait_for_url(f"{base}/library/", timeout=30_000)
    order = Order.objects.get(buyer=buyer)
    assert (order.status, order.amount) == ("paid", 900)
    assert Entitlement.objects.filter(buyer=buyer, revoked_at__isnull=True).count() == 1


def test_creator_upload_form_shows_progress_then_live_status(
    live_server: Any, celery_worker_process: Any, page: Any, tmp_path: Path, settings: Any
) -> None:
    # Send the cube through the resumable chunked path, in three chunks.
    settings.TESSERA_CHUNKED_UPLOAD_THRESHOLD = 500
    settings.TESSERA_CHUNK_BYTES = 256
    base = live_server.url
    UserFactory.create(username="browser_creator")
    _log_in(page, base, "browser_creator")
    bad = tmp_path / "notes.stl"
    bad.write_bytes(b"this is not a model")
    page.goto(f"{base}/sell/new/")
    page.fill("input[name=title]", "Browser cube")
    page.select_option("select[name=licence]", "cc0")
    page.set_input_files("input[name=files]", str(bad))
    page.click("#submit")
    page.wait_for_selector("text=notes.stl: This is not a file type Tessera accepts")
    assert Pattern.objects.count() == 0
    good = tmp_path / "cube.stl"
    good.write_bytes(samples.stl_cube())
    page.set_input_files("input[name=files]", str(good))
    page.click("#submit")
    page.wait_for_url("**/sell/patterns/*/")
    page.wait_for_selector("#status.status-needs_review", timeout=60_000)
    pattern = wait_for(lambda: Pattern.objects.filter(title="Browser cube", status="needs_review").first())
    assert pattern.previews.count() == 3
    assert list(UploadSession.objects.values_list("filename", "received", "status")) == [
        ("cube.stl", len(samples.stl_cube()), "consumed")
    ]
    assert pattern.files.get().sha256 == hashlib.sha256(samples.stl_cube()).hexdigest()


def test_pattern_page_3d_viewer_loads_the_preview_mesh(live_server: Any, page: Any, user: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from catalog import services as catalog_services
    from catalog.models import Licence, ViewerModel
    from ingestion.services import pattern_process_now

    pattern = catalog_services.pattern_create(
        creator=user,
        title="Viewer cube",
        description="",
        price=0,
        currency="USD",
        licence=Licence.objects.get(code="cc0"),
        uploads=[SimpleUploadedFile("cube.stl", samples.stl_cube())],
    )
    pattern_process_now(pattern_id=pattern.pk)
    Pattern.objects.filter(pk=pattern.pk).update(status="published")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}{pattern.get_absolute_url()}")
    page.wait_for_selector("[data-viewer-ready=true]", timeout=20_000)
    assert page.locator(".viewer canvas").count() == 1
    assert errors == []
    assert ViewerModel.objects.get().face_count == 12
