"""Issue 12 walk-through in headless Chromium: the status page's Versions section and the console's new-versions
table, on a phone and a desktop. Needs Debian's chromium (``/usr/bin/chromium``); skipped without it."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile

from catalog.models import Pattern, PatternFile, PatternVersion
from tests import samples
from tests.browser import assert_no_sideways_scroll, axe_violations, launch, needs_chromium, screenshot
from tests.factories import PatternFactory, UserFactory

pytestmark = [pytest.mark.e2e, needs_chromium]


def _version(pattern: Pattern, number: int, status: str, *, changelog: str, reason: str = "") -> PatternVersion:
    version = PatternVersion.objects.create(
        pattern=pattern, number=number, status=status, status_reason=reason, changelog=changelog
    )
    content = samples.blob_stl()
    pattern_file = PatternFile(
        pattern=pattern,
        version=version,
        original_name=f"planter-v{number}-with-a-rather-long-file-name.stl",
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        format="stl",
        status=PatternFile.Status.VALID,
    )
    pattern_file.original.save("v.stl", ContentFile(content), save=False)
    pattern_file.save()
    return version


def _log_in(page: Any, base: str, username: str, then: str, *, admin: bool = False) -> None:
    if admin:
        page.goto(f"{base}/admin/login/?next={then}")
        page.fill("#id_username", username)
        page.fill("#id_password", "secret-pass-123")
        page.click("input[type=submit]")
        page.wait_for_url(f"{base}{then}")
        return
    page.goto(f"{base}/accounts/login/?next={then}")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", "secret-pass-123")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}{then}")


def test_the_versions_section_and_the_console_work_on_a_phone_and_a_desktop(live_server: Any) -> None:
    creator = UserFactory.create(username="mira")
    in_progress = PatternFactory.create(creator=creator, title="Owl planter", with_file=samples.stl_cube())
    _version(in_progress, 2, "needs_review", changelog="Thicker walls and a drainage hole.")
    rejected = PatternFactory.create(creator=creator, title="Gear coaster", with_file=samples.stl_cube())
    _version(rejected, 2, "rejected", changelog="New gear teeth.", reason="The teeth do not mesh; check the pitch.")
    mod = UserFactory.create(username="mod_mia", is_staff=True)
    for codename in ("view_pattern", "change_pattern"):
        mod.user_permissions.add(Permission.objects.get(content_type__app_label="catalog", codename=codename))
    base = live_server.url
    console = "/admin/catalog/reviewqueue/console/"
    with launch() as browser:
        for width in (390, 1366):
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            _log_in(page, base, "mira", f"/sell/patterns/{in_progress.pk}/")
            assert "Version 2 is" in page.inner_text("#version-live")
            assert page.locator("#new-version").count() == 0
            assert_no_sideways_scroll(page)
            assert axe_violations(page) == []
            screenshot(page, f"verpage-in-progress-{width}")
            page.goto(f"{base}/sell/patterns/{rejected.pk}/")
            assert "The teeth do not mesh" in page.inner_text("#version-2")
            assert page.locator("#new-version").is_visible()
            assert_no_sideways_scroll(page)
            assert axe_violations(page) == []
            screenshot(page, f"verpage-rejected-{width}")
            if width == 1366:
                # The page's script follows a version whose files are being checked, and stops once they are.
                checking = PatternFactory.create(creator=creator, title="Fox bookmark", with_file=samples.stl_cube())
                version = _version(checking, 2, "processing", changelog="Sharper ears.")
                page.goto(f"{base}/sell/patterns/{checking.pk}/")
                assert "its files are being checked" in page.inner_text("#version-live")
                PatternVersion.objects.filter(pk=version.pk).update(
                    status="failed", status_reason="model-v2.stl: the mesh is not closed."
                )
                page.locator("#version-live", has_text="the mesh is not closed").wait_for(timeout=10000)
                assert page.inner_text("#version-live").startswith("Version 2 failed the checks: model-v2.stl:")
                page.goto(f"{base}/sell/patterns/{rejected.pk}/")
            if width == 390:
                # Without any script: a refused file comes back with the reason and the changelog kept.
                page.set_input_files(
                    "#id_version_files", files=[{"name": "notes.stl", "mimeType": "model/stl", "buffer": b"not a mesh"}]
                )
                page.fill("#id_version_changelog", "Fixed the teeth")
                page.click("#new-version button[type=submit]")
                page.wait_for_load_state()
                assert "notes.stl:" in page.inner_text("#version-files-errors")
                assert page.input_value("#id_version_changelog") == "Fixed the teeth"
                assert PatternVersion.objects.filter(pattern=rejected).count() == 2
                assert_no_sideways_scroll(page)
                assert axe_violations(page) == []
                screenshot(page, f"verpage-refused-{width}")
            context.close()

            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            _log_in(page, base, "mod_mia", console, admin=True)
            # The decision buttons are on screen as the page opens, not cut off by the table (issue 12
            # walk-through at 390 px): nothing in the table is hidden to the side of its region.
            region = page.locator("[role=region][aria-labelledby=versions-waiting]")
            assert region.count() == 1
            assert region.get_attribute("tabindex") == "0"
            assert region.evaluate("el => el.scrollWidth - el.clientWidth") <= 0
            for name in ("Approve version 2", "Reject"):
                box = page.get_by_role("button", name=name).bounding_box()
                assert box is not None
                assert box["x"] >= 0
                assert box["x"] + box["width"] <= width
            assert_no_sideways_scroll(page)
            assert axe_violations(page) == []
            screenshot(page, f"verpage-console-{width}")
            context.close()
