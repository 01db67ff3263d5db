"""Shared browser-test helpers: a headless Chromium ``page`` fixture, axe-core checks and a sideways-scroll check.

Use from a test module with ``from tests.browser import CHROMIUM, page  # noqa: F401`` (pytest finds the imported
fixture), or call ``launch()`` for a browser shared by several checks. Needs Debian's chromium
(``/usr/bin/chromium``, or ``CHROMIUM_PATH``); mark the module with ``needs_chromium`` to skip it otherwise.
``TESSERA_SCREENSHOT_DIR=/tmp/x`` makes ``screenshot()`` save full-page PNGs there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def launch() -> Iterator[Any]:
    """A headless Chromium browser (playwright), closed on exit."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page() -> Iterator[Any]:
    """A fresh page in a fresh browser context (downloads accepted), 1280×720."""
    with launch() as browser:
        context = browser.new_context(accept_downloads=True)
        yield context.new_page()


@lru_cache(maxsize=1)
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(
    page: Any,
    impacts: Sequence[str] = ("critical", "serious"),
    *,
    exclude: Sequence[str] = (),
    only: Sequence[str] = (),
) -> list[str]:
    """axe-core's violations of the given impacts on the page as it is now, one readable line per node.

    ``exclude``: CSS selectors of third-party frames or widgets to leave out (e.g. a payment iframe).
    ``only``: run just these axe rules (e.g. ``("color-contrast",)`` for a second colour scheme).
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern
        # (add_script_tag inserts an inline <script> that the policy blocks).
        page.evaluate(_axe_source())
    result = page.evaluate(
        "([exclude, only]) => axe.run(exclude.length ? {exclude: exclude.map((s) => [s])} : document,"
        " Object.assign({resultTypes: ['violations']}, only.length ? {runOnly: {type: 'rule', values: only}} : {}))",
        [list(exclude), list(only)],
    )
    lines = []
    for violation in result["violations"]:
        if violation["impact"] not in impacts:
            continue
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"{violation['impact']} {violation['id']}: {target} — {violation['help']}")
    return lines


def sideways_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the window (0: nothing scrolls sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def assert_no_sideways_scroll(page: Any) -> None:
    overflow = sideways_overflow(page)
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at {page.viewport_size['width']}px"


def screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot as $TESSERA_SCREENSHOT_DIR/<name>.png when that variable is set."""
    folder = os.environ.get("TESSERA_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)
