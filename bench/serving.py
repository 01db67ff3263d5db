"""What the server benches share: waiting for a freshly started web server to answer."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path


def wait_http(
    url: str, *, timeout: float, process: subprocess.Popen[bytes], logs: Path, request_timeout: float = 5
) -> None:
    """Return once ``url`` answers 200; fail at once if ``process`` exits, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}; see {logs}")
        try:
            with urllib.request.urlopen(url, timeout=request_timeout) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {timeout} s")
