"""make bench-tagging: images per second through the whole tagging pipeline against the raw forward pass.

Both run in this process on the same device (CUDA when torch sees one, else the CPU) and the same images:
previews the size Tessera renders (800 px). The floor is EfficientNet-Lite0's forward pass alone on
ready-made 224 px tensors; the pipeline adds decoding/letterboxing, the embedding and logits, ConSE over the
taxonomy, and the pixel features. Goal: at least 80% of the floor's throughput.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.test")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import skimage.data  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from bench.bench_ingest import machine, write_section  # noqa: E402
from catalog.embeddings import device  # noqa: E402
from catalog.reference_data import TAXONOMY  # noqa: E402
from catalog.vision import forward, image_model, letterbox, to_tensor  # noqa: E402
from ingestion.tagging.conse import ConseTagger  # noqa: E402
from ingestion.tagging.pixels import pixel_features  # noqa: E402

BATCH = 32
ROUNDS = 7


def images() -> list[Image.Image]:
    sources = [skimage.data.chelsea(), skimage.data.coffee(), skimage.data.rocket(), skimage.data.astronaut()]
    rng = np.random.default_rng(0)
    result = []
    for index in range(BATCH):
        array = sources[index % len(sources)][..., :3]
        top, left = rng.integers(0, 40, 2)
        result.append(Image.fromarray(np.ascontiguousarray(array[top:, left:])).resize((800, 800)))
    return result


def main() -> None:
    batch = images()
    terms = [(name, kind, description) for kind, entries in TAXONOMY.items() for name, description in entries]
    tagger = ConseTagger()
    model = image_model()
    tensor = to_tensor(batch).to(device())
    tagger.suggest(batch[:2], terms)  # load everything once

    def floor() -> None:
        with torch.inference_mode():
            model(tensor)

    def pipeline() -> None:
        arrays = letterbox(batch)
        _, logits = forward(arrays)
        tagger.suggest(batch, terms, logits=logits)
        for array in arrays:
            pixel_features(array).suggestions()

    # Interleave the two and take medians, so a noisy moment on a shared machine hits both alike.
    samples: dict[str, list[float]] = {"floor": [], "pipeline": []}
    floor()
    pipeline()
    for _ in range(ROUNDS):
        for name, function in (("floor", floor), ("pipeline", pipeline)):
            started = time.perf_counter()
            function()
            samples[name].append(time.perf_counter() - started)
    timings = {name: BATCH / statistics.median(values) for name, values in samples.items()}
    ratio = timings["pipeline"] / timings["floor"]
    where = f"{torch.cuda.get_device_name(0)} (CUDA)" if device() == "cuda" else "CPU"
    print(f"floor {timings['floor']:.1f} img/s, pipeline {timings['pipeline']:.1f} img/s ({ratio:.0%}) on {where}")
    body = "\n".join(
        [
            f"## Tagging on {where} (`make bench-tagging`)",
            "",
            f"Run on {machine()}, torch {torch.__version__}, device {where}, batches of {BATCH} 800 px images,",
            f"median of {ROUNDS} interleaved rounds.",
            "",
            "| what | images/s | share of floor |",
            "|---|---:|---:|",
            f"| floor: EfficientNet-Lite0 forward pass on ready 224 px tensors | {timings['floor']:.1f} | 100% |",
            f"| whole pipeline: letterbox + embedding/logits + ConSE + pixel features (goal ≥ 80%) | "
            f"{timings['pipeline']:.1f} | {ratio:.0%} |",
            "",
        ]
    )
    write_section(ROOT / "docs" / "benchmarks.md", f"## Tagging on {where}", body)


if __name__ == "__main__":
    main()
