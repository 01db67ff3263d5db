"""Cold start: the models load when a web worker starts, and `make run` waits for fast searches before "ready"."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from typing import Any

import pytest

from marketplace import devserver
from marketplace.embedded import BASE_DIR

LOADED = "from catalog import embeddings, vision; print(embeddings._text_model is not None, vision._model is not None)"


def _import_wsgi(warm: str) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "marketplace.settings.test", "TESSERA_WARM_MODELS": warm}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", f"import marketplace.wsgi; {LOADED}"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_a_web_worker_loads_both_models_before_its_first_request() -> None:
    # gunicorn imports marketplace.wsgi in each worker before it accepts a connection.
    assert _import_wsgi("1") == "True True"
    assert _import_wsgi("0") == "False False"  # TESSERA_WARM_MODELS=0 leaves them to the first request


@pytest.mark.django_db(transaction=True)
def test_readiness_check_sends_a_real_search_and_image_search(
    live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analytics.models import Event
    from analytics.services import events_drain
    from catalog.warmup import models_warm

    models_warm()  # as the web worker does at start
    notes: list[str] = []
    timings = devserver.wait_until_searches_answer(base_url=live_server.url, log=notes.append)
    assert set(timings) == {"search", "image search"}
    assert all(0 < seconds < devserver.READY_WITHIN_S for seconds in timings.values()), timings
    assert notes == []
    # The readiness check is not a visitor: its requests (Python-urllib) are not counted in anyone's insights.
    events_drain()  # as the beat task does every few seconds
    assert not Event.objects.filter(kind="search").exists()

    # Sent as a browser would send them, both really reach the search code (each records its search event).
    real_requests = devserver.search_requests

    def as_a_browser(*, base_url: str) -> dict[str, urllib.request.Request]:
        requests = real_requests(base_url=base_url)
        for request in requests.values():
            request.add_header("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0")
        return requests

    monkeypatch.setattr(devserver, "search_requests", as_a_browser)
    devserver.wait_until_searches_answer(base_url=live_server.url, log=notes.append)
    events_drain()
    queries = sorted(Event.objects.filter(kind="search").values_list("query", flat=True))
    assert len(queries) == 2
    assert queries[0] == "[image]"
    assert queries[1].startswith("readiness check ")
