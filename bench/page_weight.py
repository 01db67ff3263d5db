"""Cold page weight in Chromium: the bytes of every response a page loads with an empty, disabled cache.

    python bench/page_weight.py URL [URL ...] [--open-viewer] [--width 1366]

``cold_page_weight(url)`` is the function other benchmarks reuse. Bytes are the response bodies as received
(after any content decoding), so a gzip-served file counts at its full size: an upper bound on the transfer.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def page_responses(
    url: str, *, width: int = 1366, height: int = 900, open_viewer: bool = False
) -> list[tuple[str, int]]:
    """(URL, body bytes) of every response the page loaded by network idle (after opening its 3D viewer if asked)."""
    from playwright.sync_api import Error, sync_playwright

    sizes: list[tuple[str, int]] = []

    def record(request: Any) -> None:
        response = request.response()
        try:
            size = len(response.body()) if response is not None else 0
        except Error:  # a body Chromium no longer holds (module scripts): the bytes that arrived
            size = request.sizes()["responseBodySize"]
        sizes.append((request.url, size))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
        )
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            session = context.new_cdp_session(page)
            session.send("Network.enable")
            session.send("Network.setCacheDisabled", {"cacheDisabled": True})
            page.on("requestfinished", record)
            page.goto(url, wait_until="networkidle")
            if open_viewer and page.locator("[data-viewer-open]").count():
                page.locator("[data-viewer-open]").first.click()
                page.wait_for_selector("[data-viewer-ready=true]", timeout=60_000)
                page.wait_for_load_state("networkidle")
        finally:
            browser.close()
    return sizes


def cold_page_weight(url: str, **options: Any) -> int:
    """Total bytes of the response bodies ``url`` loads cold in Chromium (see ``page_responses``)."""
    return sum(size for _, size in page_responses(url, **options))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--width", type=int, default=1366)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--open-viewer", action="store_true", help="press 'View in 3D' and count what it loads")
    parser.add_argument("--verbose", action="store_true", help="list every response")
    args = parser.parse_args()
    for url in args.urls:
        responses = page_responses(url, width=args.width, height=args.height, open_viewer=args.open_viewer)
        if args.verbose:
            for response_url, size in sorted(responses, key=lambda item: -item[1]):
                print(f"  {size:>10,}  {response_url}")
        print(f"{sum(size for _, size in responses):>12,} bytes  {len(responses):>3} responses  {url}")


if __name__ == "__main__":
    main()
