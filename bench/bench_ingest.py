"""make bench-ingest: ingestion throughput per format, and the 1,310,720-face STL against its floor.

The floor is measured in the same run on the same file: numpy.fromfile plus manifold3d's merge and
status check, the least any validator must do. Tessera's full validation (every check and three
800 px previews, in the sandboxed child) is reported as a ratio of it; the goal is at most 2.5×.
trimesh's default load and checks are measured too, for reference. Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.test")
django.setup()

import manifold3d  # noqa: E402
import numpy as np  # noqa: E402
import trimesh  # noqa: E402

from ingestion import validators  # noqa: E402
from tests import hostile, samples  # noqa: E402

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
STL_RECORD = np.dtype([("normal", "<f4", (3,)), ("vertices", "<f4", (3, 3)), ("attribute", "<u2")])


def timed(function, repeats: int = REPEATS) -> float:  # type: ignore[no-untyped-def]
    samples_s = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples_s.append(time.perf_counter() - started)
    return statistics.median(samples_s)


def floor(path: Path) -> None:
    triangles = np.fromfile(path, dtype=STL_RECORD, offset=84)["vertices"]
    count = len(triangles)
    mesh = manifold3d.Mesh(
        vert_properties=np.ascontiguousarray(triangles.reshape(-1, 3)),
        tri_verts=np.arange(3 * count, dtype=np.uint32).reshape(count, 3),
    )
    mesh.merge()
    if manifold3d.Manifold(mesh).status() != manifold3d.Error.NoError:
        raise RuntimeError("the benchmark sphere should be manifold")


def trimesh_default(path: Path) -> None:
    mesh = trimesh.load(str(path), force="mesh")
    if not isinstance(mesh, trimesh.Trimesh):
        raise RuntimeError("expected a single mesh")
    _ = (mesh.is_watertight, mesh.is_winding_consistent, mesh.volume, mesh.split(only_watertight=False))


def full(path: Path, fmt: str) -> None:
    report, previews = validators.validate(path, fmt)
    if not previews:
        raise RuntimeError(f"validation of {path.name} produced no previews: {report.as_dict()}")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()}"
    )


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
    per_format = {
        "stl (12 faces)": ("stl", samples.stl_cube()),
        "stl (20k faces)": ("stl", hostile._export(trimesh.creation.icosphere(subdivisions=5, radius=30), "stl")),
        "obj": ("obj", samples.obj_sphere()),
        "ply": ("ply", samples.ply_torus()),
        "3mf": ("3mf", samples.threemf_cone()),
        "svg": ("svg", samples.svg_square()),
        "dxf": ("dxf", samples.dxf_rectangle()),
        "pdf (2 pages)": ("pdf", samples.pdf_two_pages()),
        "png": ("png", samples.png_tile(512)),
        "jpg": ("jpg", samples.jpg_photo()),
        "zip (stl+svg)": ("zip", hostile.zip_bundle()),
    }
    rows = []
    for label, (fmt, content) in per_format.items():
        path = work / f"sample.{fmt}"
        path.write_bytes(content)
        seconds = timed(lambda path=path, fmt=fmt: full(path, fmt), repeats=5)
        rows.append((label, len(content), seconds))
        print(f"{label:18s} {1 / seconds:8.2f} files/s")

    big = work / "icosphere8.stl"
    trimesh.creation.icosphere(subdivisions=8, radius=50).export(str(big))
    faces = (big.stat().st_size - 84) // 50
    floor_s = timed(lambda: floor(big))
    full_s = timed(lambda: full(big, "stl"))
    trimesh_s = timed(lambda: trimesh_default(big))
    print(
        f"big STL: {faces} faces, floor {floor_s:.2f}s, Tessera {full_s:.2f}s ({full_s / floor_s:.2f}x), "
        f"trimesh {trimesh_s:.2f}s ({trimesh_s / floor_s:.2f}x)"
    )

    lines = [
        "## Ingestion (`make bench-ingest`)",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        f"Median of {REPEATS} runs (5 for the per-format rows).",
        "Every timing is the full sandboxed validation: fork, parse, every check, previews, PNG encoding.",
        "",
        "| file | size | files/s | seconds |",
        "|---|---:|---:|---:|",
        *[f"| {label} | {size:,} B | {1 / s:.1f} | {s:.3f} |" for label, size, s in rows],
        "",
        f"Large mesh: binary STL of `trimesh.creation.icosphere(subdivisions=8)`, {faces:,} faces, "
        f"{big.stat().st_size / 2**20:.0f} MiB.",
        "",
        "| what | seconds | ratio to floor |",
        "|---|---:|---:|",
        f"| floor: `numpy.fromfile` + manifold3d merge + status | {floor_s:.2f} | 1.00 |",
        "| Tessera: every mesh check, three 800 px previews and the viewer mesh, in the sandboxed child "
        f"(goal ≤ 2.5×) | {full_s:.2f} | {full_s / floor_s:.2f} |",
        f"| reference: trimesh load + watertight/winding/volume/split | {trimesh_s:.2f} | {trimesh_s / floor_s:.2f} |",
        "",
    ]
    write_section(ROOT / "docs" / "benchmarks.md", "## Ingestion", "\n".join(lines))


def write_section(path: Path, heading: str, body: str) -> None:
    """Replace this benchmark's section in docs/benchmarks.md, keeping the others."""
    text = (
        path.read_text()
        if path.exists()
        else "# Benchmarks\n\nEach section is written by its `make bench-*` target.\n\n"
    )
    start = text.find(heading)
    if start == -1:
        text = text.rstrip() + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + body + (text[end + 1 :] if end != -1 else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip() + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
