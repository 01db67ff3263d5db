"""Container health check of the web service: ``python -m marketplace.healthcheck`` exits 0 when healthy.

Asks this container's own ``/healthz`` (PostgreSQL and Redis reachable) with a host name the site accepts.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    hosts = [h.strip().lstrip(".") for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",")]
    host = next((h for h in hosts if h and h != "*"), "localhost")
    port = os.environ.get("PORT", "8000")
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        sys.stderr.write(f"unhealthy: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
