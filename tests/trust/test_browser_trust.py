"""Issue 14 (h/trust): the notice form (with its errors), a notice's page for the uploader, the transparency report
and the staff evidence page in headless Chromium at phone and desktop widths: no sideways scroll, axe clean.
``TESSERA_SCREENSHOT_DIR=/tmp/x`` saves screenshots."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests import samples
from tests.browser import CHROMIUM, assert_no_sideways_scroll, axe_violations, launch, needs_chromium, screenshot
from tests.factories import PatternFactory, StaffFactory, UserFactory
from trust import services

pytestmark = [needs_chromium]
assert CHROMIUM


def _session_cookie(user: Any, base: str) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}


@pytest.mark.django_db(transaction=True)
def test_trust_pages_fit_phones_and_pass_axe(live_server: Any) -> None:
    base = live_server.url
    ada = UserFactory.create(username="ada")
    original = PatternFactory.create(creator=ada, title="Cube planter", with_file=samples.stl_cube())
    uploader = UserFactory.create(username="copier")
    copy = PatternFactory.create(
        creator=uploader, title="Cube pot with a rather long title", with_file=samples.stl_cube()
    )
    moderator = StaffFactory.create(username="mod_ann")
    notice = services.notice_submit(
        notice=services.NoticeInput(
            claimant_name="Ada Owner",
            claimant_email="ada@example.org",
            claimant_address="1 Studio Lane, Leeds",
            work_description="My cube planter model, first published in 2023.",
            original_location=f"{base}{original.get_absolute_url()}",
            original_pattern=original,
            patterns=[copy],
            signature="Ada Owner",
        )
    )
    services.notice_decide(
        notice=notice, moderator=moderator, action="remove", reason="Identical file to the claimant's upload."
    )
    second = services.notice_submit(
        notice=services.NoticeInput(
            claimant_name="Ada Owner",
            claimant_email="ada@example.org",
            claimant_address="1 Studio Lane, Leeds",
            work_description="Another model",
            original_location=f"{base}{original.get_absolute_url()}",
            original_pattern=original,
            patterns=[PatternFactory.create(creator=uploader, title="Cube", with_file=samples.stl_cube())],
            signature="Ada Owner",
        )
    )
    pages = [
        ("takedown-form", None, "/legal/takedown/", None),
        ("takedown-errors", None, "/legal/takedown/", "button[type=submit]"),
        ("notice-uploader", uploader, f"/legal/takedown/{notice.pk}/", None),
        ("transparency", None, "/legal/transparency/", None),
        ("evidence", moderator, f"/admin/trust/takedownnotice/{second.pk}/evidence/", None),
    ]
    with launch() as browser:
        for width, height in ((390, 844), (1366, 900)):
            for name, user, path, click in pages:
                context = browser.new_context(viewport={"width": width, "height": height})
                if user is not None:
                    context.add_cookies([_session_cookie(user, base)])
                page = context.new_page()
                response = page.goto(f"{base}{path}")
                assert response is not None
                assert response.status == 200, (name, response.status)
                if click:
                    page.click(click)
                    page.wait_for_selector(".errorlist")
                assert_no_sideways_scroll(page)
                violations = axe_violations(page)
                assert violations == [], (name, width, violations)
                screenshot(page, f"trust-{name}-{width}")
                context.close()
