"""Run a parser in a forked child with a memory cap and a deadline.

A hostile or broken file can make a parser allocate without bound, loop forever, or crash the
interpreter. Parsing in a child process turns each of those into a finding on the report, and the
worker (or web process) that asked carries on. Fork keeps the imported modules, so the cost is a few
milliseconds, not an interpreter start.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import resource
import shutil
import signal
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from ingestion.validators.base import FileRejected, Report

logger = logging.getLogger(__name__)


class IsolatedFailure(Exception):
    """The child ran out of time or memory, or died; ``code`` is the finding suffix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _virtual_memory_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _child(function: Callable[[], Any], out_dir: Path, memory_bytes: int, timeout: float) -> None:
    faulthandler.disable()  # a crash here is expected and reported as a finding, not a traceback dump
    # The cap counts what this process already maps (inherited from the parent) plus the budget.
    limit = _virtual_memory_bytes() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = int(timeout) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    outcome: dict[str, Any]
    try:
        result = function()
        outcome = {"ok": True}
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], Report):
            report, images = result
            outcome["report"] = report.as_dict()
            labels = []
            shapes = []
            for index, (label, image) in enumerate(images):
                # Raw pixels, not PNG: encoding here and decoding in the parent would double the work.
                rgb = image.convert("RGB")
                (out_dir / f"{index}.rgb").write_bytes(rgb.tobytes())
                labels.append(label)
                shapes.append(list(rgb.size))
            outcome["labels"] = labels
            outcome["sizes"] = shapes
            for name, content in report.artifacts.items():
                (out_dir / f"artifact-{name}").write_bytes(content)
            outcome["artifacts"] = sorted(report.artifacts)
    except FileRejected as exc:
        outcome = {"ok": False, "rejected": str(exc), "code": exc.code}
    except MemoryError:
        outcome = {"ok": False, "failure": "too_complex"}
    except BaseException as exc:  # noqa: BLE001 - report every failure of the parser, whatever it is
        outcome = {"ok": False, "failure": "crashed", "detail": "".join(traceback.format_exception_only(exc))[-300:]}
    (out_dir / "outcome.json").write_text(json.dumps(outcome))


def run_isolated(function: Callable[[], Any], *, timeout: float, memory_bytes: int) -> dict[str, Any]:
    """Call ``function`` in a child process; return its outcome or raise ``IsolatedFailure``/``FileRejected``.

    ``function`` returns ``None`` (a check) or ``(Report, [(label, PIL.Image)])`` (a validation).
    """
    out_dir = Path(tempfile.mkdtemp(prefix="tessera-sandbox-"))
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            _child(function, out_dir, memory_bytes, timeout)
        finally:
            os._exit(0)
    try:
        deadline = time.monotonic() + timeout
        status = 0
        while True:
            finished, status = os.waitpid(pid, os.WNOHANG)
            if finished:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pid = 0
                raise IsolatedFailure("timeout", f"Checking this file took longer than {timeout:.0f} seconds.")
            time.sleep(0.01)
        pid = 0
        outcome_path = out_dir / "outcome.json"
        if os.WIFSIGNALED(status) or not outcome_path.exists():
            signal_number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            if signal_number in (signal.SIGXCPU, signal.SIGKILL):
                raise IsolatedFailure("timeout", "Checking this file used more processing time than allowed.")
            raise IsolatedFailure("crashed", "The file made the parser crash.")
        outcome: dict[str, Any] = json.loads(outcome_path.read_text())
        if outcome.get("rejected"):
            raise FileRejected(outcome["rejected"], outcome.get("code", "file.parse_failed"))
        if outcome.get("failure") == "too_complex":
            raise IsolatedFailure(
                "too_complex", f"Checking this file needs more than {memory_bytes // 2**20} MB of memory."
            )
        if outcome.get("failure") == "crashed":
            logger.warning("parser crashed in sandbox: %s", outcome.get("detail"))
            raise IsolatedFailure("crashed", "The file made the parser fail unexpectedly.")
        images = []
        for index, (label, size) in enumerate(zip(outcome.get("labels", []), outcome.get("sizes", []), strict=True)):
            images.append((label, Image.frombytes("RGB", tuple(size), (out_dir / f"{index}.rgb").read_bytes())))
        outcome["images"] = images
        outcome["artifact_bytes"] = {
            name: (out_dir / f"artifact-{name}").read_bytes() for name in outcome.get("artifacts", [])
        }
        return outcome
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        shutil.rmtree(out_dir, ignore_errors=True)
