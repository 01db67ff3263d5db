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
from ingestion import submit
from ingestion.models import UploadSession
from marketplace import devserver
from payments.models import Order, Payment
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
    order = Order.objects.get(buyer=buyer)
    page.wait_for_url(f"{base}/orders/{order.pk}/receipt/", timeout=30_000)
    assert "Lighthouse lamp" in page.content()
    order.refresh_from_db()
    assert (order.status, order.amount) == ("paid", 1250)
    page.click("text=Download in your library")
    page.wait_for_url(f"{base}/library/")
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
    order = Order.objects.get(buyer=buyer)
    page.wait_for_url(f"{base}/orders/{order.pk}/receipt/", timeout=30_000)
    order.refresh_from_db()
    assert (order.status, order.amount) == ("paid", 900)
    assert Entitlement.objects.filter(buyer=buyer, revoked_at__isnull=True).count() == 1


def test_a_guest_adds_to_cart_signs_up_at_checkout_pays_and_gets_a_receipt_on_a_phone(
    live_server: Any, localstripe: str, celery_worker_process: Any, page: Any
) -> None:
    """At 390 px: cart -> check out -> sign up -> back on the checkout with the item -> pay -> receipt."""
    base = live_server.url
    devserver.register_localstripe_webhook(
        port=settings.LOCALSTRIPE_PORT, url=f"{base}/api/v1/stripe/webhook/", secret=settings.STRIPE_WEBHOOK_SECRET
    )
    pattern = PatternFactory.create(title="Phone lamp", price=1400)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}{pattern.get_absolute_url()}")
    page.click("text=Add to cart")
    page.wait_for_url(f"{base}/cart/")
    page.click("text=Check out")
    page.wait_for_url(f"{base}/accounts/login/?next=/checkout/")
    page.click("main a[href^='/accounts/signup/']")
    page.fill("input[name=email]", "phone_buyer@example.com")
    page.fill("input[name=username]", "phone_buyer")
    page.fill("input[name=password1]", "a-long-new-pass-987")
    page.fill("input[name=password2]", "a-long-new-pass-987")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/checkout/")  # not a 405, and the cart survived the new session
    assert "Phone lamp" in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("text=Continue to payment")
    page.wait_for_url("**/checkout/*/")
    inputs = page.locator("#card-element input")
    for index, value in enumerate(["4242424242424242", "12", "30", "123", "75001"]):
        inputs.nth(index).fill(value)
    page.click("#pay")
    order = Order.objects.get(buyer__username="phone_buyer")
    page.wait_for_url(f"{base}/orders/{order.pk}/receipt/", timeout=30_000)
    assert f"order #{order.pk}" in page.inner_text("main")
    assert "Phone lamp" in page.inner_text("main")
    # The worker asks Stripe which card paid; the receipt then names it.
    wait_for(lambda: Payment.objects.filter(order=order, card_last4="4242").exists(), what="the card's last four")
    page.reload()
    assert "Visa ending in 4242" in page.inner_text("main")
    order.refresh_from_db()
    assert (order.status, order.amount) == ("paid", 1400)
    assert Entitlement.objects.filter(buyer=order.buyer, pattern=pattern, revoked_at__isnull=True).count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


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
    """The viewer's code reaches only mesh pages, and only once the viewer is scrolled to or opened; then it draws
    the mesh framed, states its size, and answers the keyboard."""
    import io

    import numpy as np
    import trimesh
    from django.core.files.base import ContentFile
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from catalog.models import Licence, PatternFile, Preview, ViewerModel
    from ingestion.services import pattern_file_process

    block = trimesh.creation.box(extents=[40, 20, 10])
    pattern = submit.pattern_create(
        creator=user,
        title="Viewer block",
        description="",
        price=0,
        currency="USD",
        licence=Licence.objects.get(code="cc0"),
        uploads=[SimpleUploadedFile("block.stl", block.export(file_type="stl"))],
        enqueue=False,
    )
    pattern_file_process(pattern_file_id=pattern.files.get().pk)  # validation and viewer mesh; no tagging needed
    Pattern.objects.filter(pk=pattern.pk).update(status="published")
    assert ViewerModel.objects.get().face_count == 12
    assert pattern.files.get().validation["properties"]["bounding_box_mm"] == [40.0, 20.0, 10.0]
    image_pattern = PatternFactory.create(title="Flat tile", with_file=False)
    tile = samples.png_tile(64)
    image_file = PatternFile.objects.create(
        pattern=image_pattern,
        original_name="tile.png",
        sha256=hashlib.sha256(tile).hexdigest(),
        size=len(tile),
        format="png",
        status=PatternFile.Status.VALID,
    )
    preview = Preview(pattern=image_pattern, pattern_file=image_file, label="Tile", width=64, height=64)
    preview.image.save("tile.png", ContentFile(tile))

    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))

    def viewer_requests() -> list[str]:
        return [url for url in requested if "/static/tessera/viewer" in url]

    # An image pattern's page loads none of the viewer (no loader, no CSS, no three.js bundle).
    page.goto(f"{live_server.url}{image_pattern.get_absolute_url()}", wait_until="networkidle")
    assert viewer_requests() == []
    assert page.locator("[data-viewer]").count() == 0

    # A mesh page: the light loader and the poster, but no bundle while the viewer is out of sight.
    page.set_viewport_size({"width": 1366, "height": 160})
    url = f"{live_server.url}{pattern.get_absolute_url()}"
    page.goto(url, wait_until="networkidle")
    assert any(u.endswith("/static/tessera/viewer-loader.js") for u in viewer_requests())
    assert not any("viewer.bundle.js" in u for u in viewer_requests())
    assert page.locator("[data-viewer-stage] canvas").count() == 0
    # Scrolled into view: it loads and draws.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.locator("[data-viewer]").scroll_into_view_if_needed()
    page.wait_for_selector("[data-viewer-ready=true]", timeout=30_000)
    assert sum("viewer.bundle.js" in u for u in viewer_requests()) == 1

    # Opened with the button instead (a fresh load, still out of sight): same result, focus in the view.
    requested.clear()
    page.set_viewport_size({"width": 1366, "height": 160})
    page.goto(url, wait_until="networkidle")
    assert not any("viewer.bundle.js" in u for u in viewer_requests())
    page.click("[data-viewer-open]")
    page.wait_for_selector("[data-viewer-ready=true]", timeout=30_000)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.locator("[data-viewer]").scroll_into_view_if_needed()
    page.wait_for_function("document.activeElement && document.activeElement.matches('[data-viewer-stage]')")
    figure = page.locator("[data-viewer]")

    # The size stated is the validation report's, and the same as the mesh drawn.
    assert page.locator("[data-viewer-dimensions]").inner_text() == "40 × 20 × 10 mm"
    assert figure.get_attribute("data-viewer-measured") == "40 × 20 × 10"
    assert "12 triangles" in page.locator("figcaption").inner_text()
    assert page.locator("[data-viewer-fit]").inner_text() == "Fits the Bambu Lab X1/P1 bed."

    # It drew the model: the canvas is not one flat colour.
    page.wait_for_timeout(300)
    shot = Image.open(io.BytesIO(page.locator("[data-viewer-stage] canvas").screenshot())).convert("RGB")
    pixels = np.asarray(shot, dtype=np.int16)
    differing = int((np.abs(pixels - pixels[2, 2]).sum(axis=2) > 30).sum())
    assert differing > pixels.shape[0] * pixels.shape[1] * 0.03

    # Rendered on demand: nothing is drawn while the view is still.
    renders = figure.get_attribute("data-viewer-renders")
    page.wait_for_timeout(500)
    assert figure.get_attribute("data-viewer-renders") == renders

    # Keyboard: arrows turn it, + zooms, R resets to the framed view.
    start = (figure.get_attribute("data-viewer-azimuth"), figure.get_attribute("data-viewer-distance"))
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("+")
    page.wait_for_function(
        "([a, d]) => { const f = document.querySelector('[data-viewer]');"
        " return f.dataset.viewerAzimuth !== a && Number(f.dataset.viewerDistance) < Number(d); }",
        arg=list(start),
    )
    turned = int(figure.get_attribute("data-viewer-azimuth") or 0)
    assert (int(start[0] or 0) - turned) % 360 == 30
    page.keyboard.press("r")
    page.wait_for_function(
        "([a, d]) => { const f = document.querySelector('[data-viewer]');"
        " return f.dataset.viewerAzimuth === a && f.dataset.viewerDistance === d; }",
        arg=list(start),
    )
    assert errors == []
