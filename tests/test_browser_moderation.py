"""The moderation console in headless Chromium: one page load and at most two key presses per decision.

Needs Debian's chromium (``/usr/bin/chromium``), like tests/test_browser.py; skipped without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile

from catalog.models import CopyFlag, Pattern, Preview, RejectionReason, User
from catalog.reference_data import ensure_rejection_reasons
from tests import samples
from tests.browser import axe_violations, launch, needs_chromium
from tests.factories import PatternFactory, UserFactory

pytestmark = [pytest.mark.e2e, needs_chromium]


@pytest.fixture
def page() -> Iterator[Any]:
    with launch() as browser:
        yield browser.new_context(viewport={"width": 1366, "height": 900}).new_page()


def with_preview(pattern: Pattern, *, seed: int) -> Pattern:
    pattern_file = pattern.files.get()
    preview = Preview(pattern=pattern, pattern_file=pattern_file, label="Render", width=640, height=480)
    preview.image.save(f"p{seed}.png", ContentFile(samples.photo_png(640, 480)), save=False)
    preview.save()
    return pattern


def moderation_world() -> tuple[User, list[Pattern]]:
    """A moderator and three patterns waiting, the oldest flagged as a copy of another creator's one."""
    ensure_rejection_reasons(RejectionReason)
    mod = UserFactory.create(username="mod_mia", is_staff=True)
    for codename in ("view_pattern", "change_pattern"):
        mod.user_permissions.add(Permission.objects.get(content_type__app_label="catalog", codename=codename))
    original = with_preview(PatternFactory.create(title="Barn owl"), seed=1)
    creator = UserFactory.create(username="maker")
    PatternFactory.create(creator=creator, status=Pattern.Status.REJECTED, published_at=None)
    waiting = []
    for n, title in enumerate(("Owl planter", "Gear coaster", "Fox bookmark")):
        pattern = PatternFactory.create(
            title=title, creator=creator, status=Pattern.Status.NEEDS_REVIEW, published_at=None, price=1250
        )
        waiting.append(with_preview(pattern, seed=10 + n))
    CopyFlag.objects.create(
        pattern=waiting[0],
        pattern_file=waiting[0].files.get(),
        matched_file=original.files.get(),
        kind=CopyFlag.Kind.SHAPE,
        distance=0.002,
        threshold=0.01,
    )
    return mod, waiting


def admin_log_in(page: Any, base: str, username: str, then: str) -> None:
    page.goto(f"{base}/admin/login/?next={then}")
    page.fill("#id_username", username)
    page.fill("#id_password", "secret-pass-123")
    page.click("input[type=submit]")


def test_a_decision_takes_one_page_load_and_at_most_two_keys(live_server: Any, page: Any) -> None:
    mod, (first, second, third) = moderation_world()
    base = live_server.url
    console = "/admin/catalog/reviewqueue/console/"
    csp_errors: list[str] = []
    page.on("console", lambda message: csp_errors.append(message.text) if "Content Security" in message.text else None)
    admin_log_in(page, base, "mod_mia", f"{console}start/")
    page.wait_for_url(f"{base}{console}{first.pk}/")
    assert page.locator(".mod-flag").count() == 1
    assert page.locator("img.mod-lead").evaluate("img => img.naturalWidth") == 640

    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    # Approve: one key, one page load (the POST answers with the next pattern's page).
    page.keyboard.press("a")
    page.wait_for_url(f"{base}{console}{second.pk}/")
    page.wait_for_load_state()
    assert navigations == [f"{base}{console}{second.pk}/"]
    assert Pattern.objects.get(pk=first.pk).status == Pattern.Status.PUBLISHED
    assert "Approved “Owl planter”." in page.inner_text(".messagelist")

    # Reject with the first canned reason: R opens the reasons, 1 picks one and submits.
    navigations.clear()
    page.keyboard.press("r")
    assert page.locator("#reject-panel").is_visible()
    page.keyboard.press("1")
    page.wait_for_url(f"{base}{console}{third.pk}/")
    page.wait_for_load_state()
    assert navigations == [f"{base}{console}{third.pk}/"]
    rejected = Pattern.objects.get(pk=second.pk)
    reason = RejectionReason.objects.order_by("position").first()
    assert reason is not None
    assert (rejected.status, rejected.status_reason) == (Pattern.Status.REJECTED, reason.text)

    # Typing a note does not trigger the keys; Esc closes the panel again.
    page.keyboard.press("r")
    page.fill("#reject-note", "a note with an a and an n")
    assert page.url == f"{base}{console}{third.pk}/"
    page.keyboard.press("Escape")
    assert not page.locator("#reject-panel").is_visible()
    assert Pattern.objects.get(pk=third.pk).status == Pattern.Status.NEEDS_REVIEW

    assert csp_errors == []
    assert axe_violations(page) == []
