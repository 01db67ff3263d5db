"""make bench-copies: copy detection on generated meshes.

Distinct models come from ten families with proportions at least 25% apart (a scaled object is the same
object); each original gets a copy that is randomly rotated, scaled 0.1–10×, moved, re-meshed half the time and
re-exported to STL/OBJ/PLY. Reports the share of copies within SHAPE_COPY_DISTANCE of their original and the
share of held-out distinct models within it of any original, across thresholds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_ingest import machine, write_section  # noqa: E402
from ingestion.shape import SHAPE_COPY_DISTANCE, shape_descriptor  # noqa: E402
from ingestion.shape_dataset import distinct_models, transformed_copy  # noqa: E402

ORIGINALS = 500
DISTINCT = 500


def main() -> None:
    started = time.perf_counter()
    models = distinct_models(ORIGINALS + DISTINCT, seed=101)
    originals, distinct = models[:ORIGINALS], models[ORIGINALS:]
    rng = np.random.default_rng(102)
    original_vectors = np.stack([shape_descriptor(m.vertices[m.faces]) for m in originals])
    copies = [transformed_copy(m, rng)[0] for m in originals]
    copy_vectors = np.stack([shape_descriptor(m.vertices[m.faces]) for m in copies])
    distinct_vectors = np.stack([shape_descriptor(m.vertices[m.faces]) for m in distinct])
    elapsed = time.perf_counter() - started
    copy_distances = np.linalg.norm(copy_vectors - original_vectors, axis=1)
    # A copy must be nearest to its own original, not merely close to something.
    all_distances = np.linalg.norm(copy_vectors[:, None] - original_vectors[None], axis=2)
    nearest_is_own = all_distances.argmin(axis=1) == np.arange(ORIGINALS)
    nearest_distinct = np.linalg.norm(distinct_vectors[:, None] - original_vectors[None], axis=2).min(axis=1)
    rows = []
    for threshold in (0.015, SHAPE_COPY_DISTANCE, 0.024, 0.03, 0.04):
        flagged = ((copy_distances <= threshold) & nearest_is_own).mean()
        false = (nearest_distinct <= threshold).mean()
        marker = " (in use)" if threshold == SHAPE_COPY_DISTANCE else ""
        rows.append(f"| {threshold}{marker} | {flagged:.1%} | {false:.1%} |")
        print(f"threshold {threshold}: copies flagged {flagged:.1%}, distinct flagged {false:.1%}")
    descriptor_ms = elapsed / (ORIGINALS * 2 + DISTINCT) * 1000
    body = "\n".join(
        [
            "## Copy detection (`make bench-copies`)",
            "",
            f"Run on {machine()}. {ORIGINALS} originals from ten families, {ORIGINALS} transformed copies (random",
            "rotation, uniform scale 0.1–10×, translation, re-meshed half the time, re-exported to STL/OBJ/PLY), and",
            f"{DISTINCT} held-out distinct models. Goal: ≥ 95% of copies flagged, ≤ 1% of distinct models flagged.",
            "",
            "| shape distance threshold | copies flagged (nearest to their own original) | distinct models flagged |",
            "|---|---:|---:|",
            *rows,
            "",
            f"Descriptor time: {descriptor_ms:.0f} ms per mesh including the copy generation.",
            "",
        ]
    )
    write_section(ROOT / "docs" / "benchmarks.md", "## Copy detection", body)


if __name__ == "__main__":
    main()
