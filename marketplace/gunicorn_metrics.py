"""Gunicorn hooks for multiprocess Prometheus metrics (``--config python:marketplace.gunicorn_metrics``).

When a worker exits, its live gauges are dropped from the sums; its counters stay (they only ever grow).
"""

from __future__ import annotations

import os
from typing import Any


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
