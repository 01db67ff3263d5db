"""Issue 13: "insights reflect activity within 60 s", with the real pieces: this process's tracking thread, Redis, a
Celery beat with the settings' schedule (drain and rollup shortened) and a real worker on the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import wait_for
from tests.factories import PatternFactory

pytestmark = pytest.mark.e2e


def test_a_visit_shows_in_the_creators_insights_within_a_minute(celery_worker_process: Any) -> None:
    from django.db import connection

    pattern = PatternFactory.create()
    schedule = Path(settings.VAR_DIR) / "run" / "celerybeat-insights-test"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
        "TESSERA_TEST_WORKER_DB": connection.settings_dict["NAME"],
        "TESSERA_EVENTS_DRAIN_SECONDS": "1",
        "TESSERA_ROLLUP_SECONDS": "2",
    }
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "marketplace", "beat", "-s", str(schedule), "--loglevel", "WARNING"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        visitor = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
        started = time.monotonic()
        assert visitor.get(f"/p/{pattern.slug}/", HTTP_REFERER="https://www.reddit.com/r/x/").status_code == 200
        creator = Client()
        creator.force_login(pattern.creator)

        def shown() -> Any:
            data = creator.get(f"/api/v1/insights/patterns/{pattern.pk}/", {"days": "7"}).json()
            return data if data["views"] else None

        data = wait_for(shown, timeout=60, interval=1.0, what="the visit in the insights API")
        assert time.monotonic() - started < 60
        assert (data["views"], data["visitors"]) == (1, 1)
        assert [(s["source"], s["visitors"]) for s in data["sources"]] == [("reddit.com", 1)]
    finally:
        beat.terminate()
        beat.wait(timeout=15)
        schedule.unlink(missing_ok=True)
