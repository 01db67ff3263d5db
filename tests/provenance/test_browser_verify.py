"""In Chromium: the creator downloads the receipt from the status page and the public verify page checks it, at
phone and desktop widths, without sideways scrolling and with no serious axe violations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from provenance import services
from tests.browser import assert_no_sideways_scroll, axe_violations, needs_chromium, screenshot
from tests.browser import page as page  # noqa: F401 - the fixture
from tests.factories import PatternFactory, UserFactory

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


def _login(browser_page: Any, base: str, user: Any) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    browser_page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base}])


def test_download_a_receipt_and_verify_it_on_the_public_page(live_server: Any, page: Any, tsa: Any, tmp_path: Path):
    creator = UserFactory.create(username="maker_mia")
    pattern = PatternFactory.create(creator=creator, title="Owl lamp")
    services.leaf_append(pattern_id=pattern.pk, version=1, at=pattern.created_at)
    services.checkpoint_publish_and_stamp()
    base = live_server.url

    _login(page, base, creator)
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{base}/sell/patterns/{pattern.pk}/")
    screenshot(page, "provenance-status-390")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download authorship receipt").click()
    receipt = tmp_path / "receipt.json"
    download_info.value.save_as(receipt)
    assert json.loads(receipt.read_text())["statement"].count('"username":"maker_mia"') == 1
    page.context.clear_cookies()

    tampered = tmp_path / "tampered.json"
    bundle = json.loads(receipt.read_text())
    bundle["statement"] = bundle["statement"].replace("maker_mia", "thief_tom")
    tampered.write_text(json.dumps(bundle))

    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{base}/provenance/verify/")
        page.set_input_files("input[name=receipt]", str(receipt))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_selector("#verify-result")
        assert page.locator("#verify-result h2").inner_text() == "Verified"
        assert "maker_mia" in page.locator("#verify-result").inner_text()
        assert axe_violations(page) == []
        assert_no_sideways_scroll(page)
        screenshot(page, f"provenance-verified-{width}")

        page.set_input_files("input[name=receipt]", str(tampered))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_selector("#verify-result.err")
        assert page.locator("#verify-result h2").inner_text() == "Not verified: leaf hash"
        assert "has been changed since the log recorded it" in page.locator("#verify-result").inner_text()
        assert axe_violations(page) == []
        assert_no_sideways_scroll(page)
        screenshot(page, f"provenance-failed-{width}")
