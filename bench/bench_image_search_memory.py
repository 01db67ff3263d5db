"""Peak memory of one hostile image search against a live gunicorn worker (issue 9, item 7).

Starts gunicorn (one sync worker, loopback only) on ``--port`` from ``--repo`` (default: this checkout),
posts a small JPEG first (it loads the model and, on the old code, raised Pillow's process-wide pixel
limit), then a 261 KB PNG declaring 16384×16384 grey pixels, and prints the status and the growth of the
worker's peak resident size (``VmHWM``) caused by the hostile request. Stops the server it started.

    .venv/bin/python bench/bench_image_search_memory.py --port 8133
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def grey_bomb(side: int = 16_384) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    row = bytes(side + 1)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def small_jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (180, 180), (200, 80, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


def post(port: int, name: str, content: bytes) -> tuple[int, str, float]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(  # noqa: S310 - loopback URL built here
        f"http://127.0.0.1:{port}/api/v1/search/image/",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
            return response.status, response.read().decode()[:200], time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()[:200], time.monotonic() - started


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def worker_pid(master: int) -> int:
    for _ in range(600):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8133)
    parser.add_argument("--repo", type=Path, default=ROOT)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.repo), "DJANGO_SETTINGS_MODULE": "marketplace.settings.local"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=args.repo, env=env, check=True)  # noqa: S603
    gunicorn = [sys.executable, "-m", "gunicorn", "marketplace.wsgi", "--bind", f"127.0.0.1:{args.port}"]
    server = subprocess.Popen(
        [
            *gunicorn,
            "--workers",
            "1",
            "--timeout",
            "300",
            "--no-control-socket",
        ],
        cwd=args.repo,
        env=env,
    )  # noqa: S603
    try:
        worker = worker_pid(server.pid)
        for _ in range(600):
            try:
                warm = post(args.port, "warm.jpg", small_jpeg())
                break
            except OSError:
                time.sleep(0.2)
        before = peak_kib(worker)
        bomb = grey_bomb()
        status, body, seconds = post(args.port, "bomb.png", bomb)
        after = peak_kib(worker)
        print(  # noqa: T201
            json.dumps(
                {
                    "repo": str(args.repo),
                    "warm_up_status": warm[0],
                    "hostile_bytes": len(bomb),
                    "hostile_status": status,
                    "hostile_body": body,
                    "hostile_seconds": round(seconds, 2),
                    "worker_peak_before_mib": round(before / 1024, 1),
                    "worker_peak_after_mib": round(after / 1024, 1),
                    "peak_growth_mib": round((after - before) / 1024, 1),
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
