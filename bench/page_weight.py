"""Cold page weight in headless Chromium: the bytes a first visit transfers, before anything is clicked.

``page_weight(url)`` loads the page with the browser cache disabled, scrolls nothing and opens nothing (a lazy
3D viewer stays closed), waits for the network to go idle, and sums the body sizes of every response.
"""

from __future__ import annotations

import sys

CHROMIUM = "/usr/bin/chromium"


def page_weight(url: str, *, width: int = 1366, height: int = 900) -> tuple[int, int]:
    """(bytes of response bodies, number of responses) of a cold load of ``url``."""
    from playwright.sync_api import sync_playwright

    sizes: list[int] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            session = context.new_cdp_session(page)
            session.send("Network.enable")
            session.send("Network.setCacheDisabled", {"cacheDisabled": True})
            # encodedDataLength: what came over the wire for each request (compressed where the server compressed).
            session.on("Network.loadingFinished", lambda event: sizes.append(int(event["encodedDataLength"])))
            page.goto(url, wait_until="networkidle")
            page.wait_for_timeout(500)
        finally:
            browser.close()
    return sum(sizes), len(sizes)


if __name__ == "__main__":
    for target in sys.argv[1:]:
        total, count = page_weight(target)
        print(f"{target}: {total / 1e6:.2f} MB in {count} responses")  # noqa: T201
