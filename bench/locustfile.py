"""Locust users for `make bench-load` (run by bench/bench_load.py, which seeds the data file it reads).

Every user is a logged-in buyer (its own account and session), waiting 5-15 s between clicks like a person reading
the page, who browses, searches, opens pattern pages,
searches by image, opens the library and now and then checks out (cart + order with the Stripe emulator).
The floor is a static file served by the same gunicorn in the same run. Any status >= 400 counts as an
error under the label "HTTP <status>".
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task

DATA = json.loads(Path(os.environ["BENCH_DATA"]).read_text())
IMAGE = Path(DATA["image"]).read_bytes()
_sessions = itertools.cycle(DATA["sessions"])


class Buyer(HttpUser):
    # A person reads a page for a few seconds before the next click: 150 users offer about 15 requests/s.
    wait_time = between(5.0, 15.0)

    def on_start(self) -> None:
        self.client.cookies.set("sessionid", next(_sessions))
        self._get("/cart/", "cart")  # sets the CSRF cookie the POSTs below send back

    def _csrf_headers(self, referer: str) -> dict[str, str]:
        return {"X-CSRFToken": self.client.cookies.get("csrftoken") or "", "Referer": f"{self.host}{referer}"}

    def _get(self, url: str, name: str) -> Any:
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code >= 400:
                response.failure(f"HTTP {response.status_code}")
            return response

    @task(5)
    def floor(self) -> None:
        self._get("/static/tessera/site.css", "floor")

    @task(12)
    def home(self) -> None:
        self._get("/", "home")

    @task(8)
    def category(self) -> None:
        self._get(f"/c/{random.choice(DATA['categories'])}/", "category")

    @task(12)
    def search(self) -> None:
        self._get(f"/search/?q={random.choice(DATA['words'])}", "search")

    @task(15)
    def pattern(self) -> None:
        self._get(f"/p/{random.choice(DATA['patterns'])}/", "pattern")

    @task(2)
    def image_search(self) -> None:
        files = {"image": ("query.jpg", IMAGE, "image/jpeg")}
        with self.client.post(
            "/api/v1/search/image/",
            files=files,
            headers=self._csrf_headers("/search/image/"),
            name="image_search",
            catch_response=True,
        ) as response:
            if response.status_code >= 400:
                response.failure(f"HTTP {response.status_code}")

    @task(6)
    def library(self) -> None:
        self._get("/library/", "library")

    @task(3)
    def checkout(self) -> None:
        if not DATA["paid_patterns"]:
            return
        cart = self._get("/cart/", "cart")
        headers = self._csrf_headers("/cart/")
        pattern_id = random.choice(DATA["paid_patterns"])
        if cart.status_code >= 400:
            return
        for url, name in ((f"/cart/add/{pattern_id}/", "cart_add"), ("/checkout/", "checkout")):
            with self.client.post(url, headers=headers, name=name, catch_response=True) as response:
                if response.status_code >= 400:
                    response.failure(f"HTTP {response.status_code}")
                    return
