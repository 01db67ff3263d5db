"""The Content-Security-Policy in a real browser: every page works with it and the browser reports no violation
and no console error (Stripe.js card form, the three.js viewer, the upload form, Swagger UI, Django admin).

``TESSERA_SCREENSHOT_DIR=/some/dir`` also saves each page at 390 and 1366 px for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile

from catalog.models import Preview, ViewerModel
from tests import samples
from tests.factories import PatternFactory, StaffFactory, UserFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]
# Each CSP violation is reported to the page as an event; the init script runs before any page script.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile);
});
"""


@pytest.fixture
def browser_page() -> Iterator[tuple[Any, list[str]]]:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-first-run"],
        )
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.add_init_script(RECORD_VIOLATIONS)
        page = context.new_page()

        def on_console(message: Any) -> None:
            # The site has no favicon (a 404 the browser asks for by itself, unrelated to the policy).
            if message.type in ("error", "warning") and not message.location.get("url", "").endswith("/favicon.ico"):
                problems.append(f"console {message.type}: {message.text} ({message.location.get('url')})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        yield page, problems
        browser.close()


def _settle(page: Any, problems: list[str], name: str) -> None:
    page.wait_for_load_state("networkidle")
    problems.extend(f"{name}: {violation}" for violation in page.evaluate("window.__cspViolations"))
    folder = os.environ.get("TESSERA_SCREENSHOT_DIR")
    if folder:
        for width in (390, 1366):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=f"{folder}/csp-{name}-{width}.png", full_page=True)
        page.set_viewport_size({"width": 1366, "height": 900})


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", "secret-pass-123")
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_pages_work_under_the_csp_without_violations(
    live_server: Any, localstripe: str, browser_page: tuple[Any, list[str]], tmp_path: Path
) -> None:
    page, problems = browser_page
    base = live_server.url
    pattern = PatternFactory.create(title="Policy lamp", price=900)
    pattern_file = pattern.files.get()
    preview = Preview(pattern=pattern, pattern_file=pattern_file, label="Top view", width=64, height=64)
    preview.image.save("top.png", ContentFile(samples.png_tile(64)))
    viewer = ViewerModel(pattern_file=pattern_file, face_count=12)
    viewer.file.save("cube.stl", ContentFile(samples.stl_cube()))
    UserFactory.create(username="csp_browser_buyer")
    StaffFactory.create(username="csp_browser_staff")

    page.goto(f"{base}/")
    _settle(page, problems, "home")
    page.goto(f"{base}{pattern.get_absolute_url()}")
    page.wait_for_selector("[data-viewer-ready=true]", timeout=20_000)
    assert page.locator("[data-viewer] canvas").count() == 1
    _settle(page, problems, "pattern")

    _log_in(page, base, "csp_browser_buyer")
    page.goto(f"{base}{pattern.get_absolute_url()}")
    page.click("text=Add to cart")
    page.wait_for_url(f"{base}/cart/")
    page.click("text=Check out")
    page.wait_for_url("**/checkout/*/")
    # localstripe's Stripe.js drew its card fields: the script loaded and ran under the policy.
    assert page.locator("#card-element input").count() == 5
    _settle(page, problems, "checkout")
    # Payout set-up posts here and is redirected to (emulated) Stripe onboarding: form-action allows it.
    page.goto(f"{base}/sell/earnings/")
    page.click("text=Set up payouts with Stripe")
    page.wait_for_url(f"{localstripe}/_config/emulator/onboard/**")

    page.goto(f"{base}/sell/new/")
    page.fill("input[name=title]", "Policy cube")
    page.select_option("select[name=licence]", "cc0")
    upload = tmp_path / "cube.stl"
    upload.write_bytes(samples.stl_cube())
    page.set_input_files("input[name=files]", str(upload))
    page.click("#submit")
    page.wait_for_url("**/sell/patterns/*/")
    page.wait_for_selector("#steps li.current, #steps li.done")  # the status script polls and paints
    _settle(page, problems, "status")

    page.goto(f"{base}/search/?q=lamp")
    page.select_option("select[name=sort]", "price_asc")  # data-autosubmit replaces the inline onchange
    page.wait_for_url("**sort=price_asc**")
    _settle(page, problems, "search")

    page.goto(f"{base}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    _settle(page, problems, "api-docs")

    page.context.clear_cookies()
    _log_in(page, base, "csp_browser_staff")
    for path in ("/admin/", "/admin/catalog/pattern/", f"/admin/catalog/pattern/{pattern.pk}/change/"):
        page.goto(f"{base}{path}")
        _settle(page, problems, "admin")
    assert problems == []
