"""Cold page weight in Chromium: every byte a first visit transfers, with the browser cache disabled.

``page_weight(url)`` loads one page in headless Chromium (Debian's ``/usr/bin/chromium``) through the DevTools
protocol and adds up, per response, the bytes on the wire (``encodedDataLength``: headers and the body as sent)
and the decoded body sizes. Nothing is scrolled or clicked, so lazy images below the fold and a viewer that loads
on demand are not counted, as for a visitor who only looks. Reusable from other benches::

    from bench.page_weight import page_weight
    result = page_weight("http://127.0.0.1:8000/p/ocean-waves-repeat/", width=390, height=844)
    result.transferred, result.by_type  # bytes; {"image": ..., "script": ...}

Run directly: ``python bench/page_weight.py URL [URL ...] [--width 1366 --height 900] [--open-viewer] [--list]``
(``--open-viewer`` presses "View in 3D" first and counts the viewer bundle and mesh too).
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@dataclass
class PageWeight:
    url: str
    width: int
    transferred: int = 0  # bytes on the wire (headers + body as sent, compressed or not)
    body: int = 0  # decoded body bytes
    requests: int = 0
    by_type: dict[str, int] = field(default_factory=dict)  # transferred bytes per resource type
    resources: list[tuple[str, str, int]] = field(default_factory=list)  # (type, url, transferred)

    def summary(self) -> str:
        kinds = ", ".join(f"{kind} {size / 1024:.0f} KB" for kind, size in sorted(self.by_type.items()))
        return (
            f"{self.url} at {self.width} px: {self.transferred / 1024:.0f} KB transferred "
            f"({self.body / 1024:.0f} KB decoded) in {self.requests} requests: {kinds}"
        )


def _measure(page: Any, url: str, width: int, open_viewer: bool = False) -> PageWeight:
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.setCacheDisabled", {"cacheDisabled": True})
    kinds: dict[str, str] = {}
    urls: dict[str, str] = {}
    bodies: dict[str, int] = defaultdict(int)
    finished: dict[str, int] = {}

    def on_response(event: dict[str, Any]) -> None:
        kinds[event["requestId"]] = event.get("type", "Other").lower()
        urls[event["requestId"]] = event["response"]["url"]

    def on_data(event: dict[str, Any]) -> None:
        bodies[event["requestId"]] += int(event.get("dataLength", 0))

    def on_finished(event: dict[str, Any]) -> None:
        finished[event["requestId"]] = int(event.get("encodedDataLength", 0))

    session.on("Network.responseReceived", on_response)
    session.on("Network.dataReceived", on_data)
    session.on("Network.loadingFinished", on_finished)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    if open_viewer and page.locator("[data-viewer-open]").count():
        # What a visitor who presses "View in 3D" transfers: the viewer bundle and the mesh as well.
        page.locator("[data-viewer-open]").first.click()
        page.wait_for_selector("[data-viewer-ready=true]", timeout=60_000)
        page.wait_for_load_state("networkidle")
    result = PageWeight(url=url, width=width)
    by_type: dict[str, int] = defaultdict(int)
    for request_id, size in finished.items():
        if urls.get(request_id, "").startswith("data:"):
            continue
        kind = kinds.get(request_id, "other")
        result.requests += 1
        result.transferred += size
        result.body += bodies.get(request_id, 0)
        by_type[kind] += size
        result.resources.append((kind, urls.get(request_id, "?"), size))
    result.by_type = dict(by_type)
    session.detach()
    return result


def page_weight(
    url: str, *, width: int = 1366, height: int = 900, browser: Any = None, open_viewer: bool = False
) -> PageWeight:
    """Load ``url`` cold in a fresh browser context of ``width`` x ``height`` CSS px and weigh what it transferred.

    Pass a Playwright ``browser`` to reuse one; otherwise headless Chromium is started and closed here.
    """
    if browser is not None:
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            return _measure(context.new_page(), url, width, open_viewer)
        finally:
            context.close()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
        )
        try:
            return page_weight(url, width=width, height=height, browser=launched, open_viewer=open_viewer)
        finally:
            launched.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--width", type=int, default=1366)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--open-viewer", action="store_true", help="press 'View in 3D' and count what it loads")
    parser.add_argument("--list", action="store_true", help="also list every response")
    args = parser.parse_args()
    for url in args.urls:
        result = page_weight(url, width=args.width, height=args.height, open_viewer=args.open_viewer)
        print(result.summary())
        if args.list:
            for kind, resource_url, size in sorted(result.resources, key=lambda r: -r[2]):
                print(f"  {size / 1024:8.1f} KB  {kind:10} {resource_url}")


if __name__ == "__main__":
    main()
