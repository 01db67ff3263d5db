"""Calibrate the relevance floors of semantic (MiniLM) and image (EfficientNet-Lite0) search.

Run: ``.venv/bin/python bench/calibrate_floors.py`` (no database; about a minute on a laptop CPU).

The catalogue is the demo catalogue (``catalog/demo.py``): every pattern's text document as ingestion embeds it
(title, category, family tags, description) and its previews rendered and watermarked as ingestion does.

Text: held-out queries a buyer would type, each for one demo pattern, in words the pattern mostly does not
contain ("cooking garment" for the kitchen apron), against queries for things the catalogue does not have
("dragon", "submarine"). The similarity of each relevant query to its pattern, and the best similarity of each
unrelated query to any pattern, are printed; the floor sits between the two distributions.

Images: "photos" of every demo preview (cropped, rotated, recoloured, JPEG-compressed, on a different
background) against their pattern, versus random-noise images, flat colours and unrelated photographs
(scikit-image's sample photos) against the whole catalogue. "More like this": preview similarities between
demo patterns of the same family and of different families.

The chosen floors are constants in ``catalog/selectors.py`` whose comments cite this script.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.test")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import skimage.data  # noqa: E402
from django.conf import settings  # noqa: E402
from PIL import Image, ImageEnhance  # noqa: E402

from catalog import selectors  # noqa: E402
from catalog.demo import demo_patterns  # noqa: E402
from catalog.embeddings import embed_texts, pattern_document  # noqa: E402
from catalog.models import FORMAT_FAMILIES  # noqa: E402
from catalog.vision import image_embeddings, noise_reference_embeddings  # noqa: E402
from ingestion import validators  # noqa: E402
from ingestion.preview_mark import preview_watermark  # noqa: E402
from ingestion.services import FAMILY_TAGS  # noqa: E402

CATEGORY_NAMES = {
    "3d-printing": "3D printing",
    "laser-cnc": "Laser & CNC",
    "sewing-knitting": "Sewing & knitting",
    "surface-patterns": "Surface patterns",
}

# (query, title of the demo pattern it is for). Calibration set: the floor is chosen on these.
RELEVANT = [
    ("cooking garment", "Kitchen apron"),
    ("cog wheel", "16-tooth laser gear"),
    ("spotty wallpaper", "Mint polka dots"),
    ("flower pot", "Hexagonal succulent planter"),
    ("christmas tree decoration", "Five-point star ornament"),
    ("knitted gloves", "Cosy mittens knitting pattern"),
    ("shopping bag", "Lined tote bag"),
    ("patchwork", "Half-square triangle quilt block"),
    ("printer test print", "Calibration cube 20 mm"),
    ("tartan fabric", "Autumn plaid"),
    ("drink coasters", "Ring coaster set"),
    ("flower vase", "Sine-wave spiral vase"),
]
# Held out: never looked at while choosing the floor, only checked afterwards.
HELD_OUT_RELEVANT = [
    ("skirt", "A-line skirt sewing pattern"),
    ("smartphone holder", "Phone stand profile"),
    ("wooden box", "Finger-joint box panels"),
    ("road safety cone", "Traffic cone desk toy"),
    ("sea waves", "Ocean waves repeat"),
    ("napkin holder", "Torus napkin ring"),
    ("christmas bauble", "Geodesic sphere ornament"),
    ("jumper knitting chart", "Fair Isle colourwork chart"),
    ("striped background", "Diagonal stripes"),
    ("flower wall art", "Petal mandala panel"),
]
UNRELATED = [
    "dragon",
    "submarine periscope",
    "unicorn",
    "pizza recipe",
    "laptop",
    "electric guitar",
    "football",
    "castle",
    "rocket",
    "dinosaur",
    "airplane",
    "horse",
    "robot",
    "tractor",
    "bicycle",
    "sword",
]
HELD_OUT_UNRELATED = ["elephant", "piano", "skull", "motorbike", "volcano", "wizard", "cat", "spaceship"]


def catalogue() -> list[dict]:  # type: ignore[type-arg]
    """Every demo pattern with its text document and watermarked previews (as ingestion renders them)."""
    entries = []
    with tempfile.TemporaryDirectory() as directory:
        for title, description, category, _licence, _price, files in demo_patterns():
            previews: list[Image.Image] = []
            families = set()
            for name, content in files:
                fmt = name.rsplit(".", 1)[-1].lower()
                fmt = "jpg" if fmt == "jpeg" else fmt
                families.add(FORMAT_FAMILIES[fmt])
                path = Path(directory) / name
                path.write_bytes(content)
                _report, images = validators.validate_in_process(path, fmt)
                previews += [
                    preview_watermark(image, settings.TESSERA_PREVIEW_WATERMARK_TEXT).convert("RGB")
                    for _label, image in images
                ]
            tags = [tag for family in sorted(families) for tag in FAMILY_TAGS[family]]
            document = pattern_document(
                title=title, description=description, tags=tags, category=CATEGORY_NAMES[category]
            )
            entries.append({"title": title, "family": sorted(families)[0], "document": document, "previews": previews})
    return entries


def describe(values: Iterable[float]) -> str:
    array = np.asarray(list(values))
    return f"n={len(array)} min {array.min():.3f} median {np.median(array):.3f} max {array.max():.3f}"


def text_calibration(entries: list[dict]) -> None:  # type: ignore[type-arg]
    titles = [entry["title"] for entry in entries]
    documents = embed_texts([entry["document"] for entry in entries])
    print("\n## Text (MiniLM cosine similarity)")
    for label, relevant, unrelated in (
        ("calibration", RELEVANT, UNRELATED),
        ("held out", HELD_OUT_RELEVANT, HELD_OUT_UNRELATED),
    ):
        queries = embed_texts([query for query, _ in relevant])
        to_target = []
        for (query, title), vector in zip(relevant, queries, strict=True):
            scores = documents @ vector
            target = float(scores[titles.index(title)])
            rank = int((scores > target).sum()) + 1
            to_target.append(target)
            print(f"  relevant  {query!r:32} -> {title!r:36} {target:.3f} (rank {rank})")
        best_unrelated = []
        for query, vector in zip(unrelated, embed_texts(unrelated), strict=True):
            scores = documents @ vector
            best = int(np.argmax(scores))
            best_unrelated.append(float(scores[best]))
            print(f"  unrelated {query!r:32} -> {titles[best]!r:36} {scores[best]:.3f}")
        print(f"  {label}: relevant {describe(to_target)}")
        print(f"  {label}: unrelated best {describe(best_unrelated)}")
    print(f"  floors now: match {selectors.SEMANTIC_FLOOR}, close ideas {selectors.SEMANTIC_CLOSE_FLOOR}")


def photographed(image: Image.Image, seed: int) -> Image.Image:
    """A phone photo of a preview: cropped, turned, recoloured, on a grey table, JPEG-compressed."""
    rng = np.random.default_rng(seed)
    width, height = image.size
    margin = rng.uniform(0.0, 0.12, size=4)
    cropped = image.crop(
        (
            int(margin[0] * width),
            int(margin[1] * height),
            int(width - margin[2] * width),
            int(height - margin[3] * height),
        )
    )
    turned = cropped.rotate(float(rng.uniform(-12, 12)), expand=True, fillcolor=(150, 150, 145))
    turned = ImageEnhance.Brightness(turned).enhance(float(rng.uniform(0.8, 1.15)))
    turned = ImageEnhance.Color(turned).enhance(float(rng.uniform(0.8, 1.2)))
    turned = turned.resize((int(turned.width * 0.6), int(turned.height * 0.6)))
    buffer = io.BytesIO()
    turned.save(buffer, format="JPEG", quality=70)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def negatives() -> list[tuple[str, Image.Image]]:
    rng = np.random.default_rng(7)
    images = []
    for index in range(6):
        images.append((f"uniform noise {index}", Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))))
    for index in range(3):
        grey = np.clip(rng.normal(128, 60, (480, 640, 1)), 0, 255).astype(np.uint8).repeat(3, axis=2)
        images.append((f"grey gaussian noise {index}", Image.fromarray(grey)))
    for index in range(3):
        blocky = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        images.append((f"blocky noise {index}", Image.fromarray(blocky).resize((640, 480), Image.Resampling.NEAREST)))
    for name in ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "camera"):
        array = getattr(skimage.data, name)()
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        images.append((f"photo: {name}", Image.fromarray(array[..., :3])))
    return images


def image_calibration(entries: list[dict]) -> None:  # type: ignore[type-arg]
    owners = [index for index, entry in enumerate(entries) for _ in entry["previews"]]
    catalogue_vectors = image_embeddings([preview for entry in entries for preview in entry["previews"]])
    owners_array = np.asarray(owners)

    def best_per_pattern(vector: np.ndarray) -> np.ndarray:
        scores = catalogue_vectors @ vector
        best = np.full(len(entries), -1.0)
        np.maximum.at(best, owners_array, scores)
        return best

    noise_vectors = noise_reference_embeddings()

    def margin(vector: np.ndarray, similarity: float) -> float:
        return similarity - float((noise_vectors @ vector).max())

    print("\n## Images (EfficientNet-Lite0 cosine similarity; margin = lead over the noise references)")
    to_own, ranks, margins = [], [], []
    photos = [
        (index, photographed(entry["previews"][0], seed))
        for seed, (index, entry) in enumerate(enumerate(entries))
        if entry["previews"]
    ]
    for (index, _photo), vector in zip(photos, image_embeddings([photo for _, photo in photos]), strict=True):
        best = best_per_pattern(vector)
        to_own.append(float(best[index]))
        margins.append(margin(vector, float(best[index])))
        ranks.append(int((best > best[index]).sum()) + 1)
        title = entries[index]["title"]
        print(f"  photo of {title!r:36} own {best[index]:.3f} margin {margins[-1]:+.3f} rank {ranks[-1]}")
    print(f"  photos of demo previews -> their pattern: {describe(to_own)}; rank 1 for {ranks.count(1)}/{len(ranks)}")
    print(f"  photos of demo previews, margin: {describe(margins)}")
    worst, worst_margins = [], []
    images = negatives()
    for (name, _image), vector in zip(images, image_embeddings([image for _, image in images]), strict=True):
        best = best_per_pattern(vector)
        worst.append(float(best.max()))
        worst_margins.append(margin(vector, float(best.max())))
        title = entries[int(best.argmax())]["title"]
        print(f"  {name:28} best {best.max():.3f} margin {worst_margins[-1]:+.3f} ({title})")
    print(f"  noise and unrelated photos -> best pattern: {describe(worst)}; margin {describe(worst_margins)}")
    held_out = []
    rng = np.random.default_rng(2026)
    for _index in range(8):
        size = (int(rng.integers(200, 900)), int(rng.integers(200, 900)))
        noise = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        held_out.append(Image.fromarray(noise))
    held_out_vectors = image_embeddings(held_out)
    held_out_best = [float(best_per_pattern(vector).max()) for vector in held_out_vectors]
    held_out_margins = [margin(v, b) for v, b in zip(held_out_vectors, held_out_best, strict=True)]
    print(f"  held-out noise (other seed and sizes) -> best pattern: {describe(held_out_best)}")
    print(f"  held-out noise, margin: {describe(held_out_margins)}")
    matched = sum(
        1
        for similarity, lead in zip(to_own, margins, strict=True)
        if similarity >= selectors.IMAGE_FLOOR and lead >= selectors.IMAGE_NOISE_MARGIN
    )
    leaked = sum(
        1
        for similarity, lead in zip(worst + held_out_best, worst_margins + held_out_margins, strict=True)
        if similarity >= selectors.IMAGE_FLOOR and lead >= selectors.IMAGE_NOISE_MARGIN
    )
    print(f"  floors now: match {selectors.IMAGE_FLOOR}, noise margin {selectors.IMAGE_NOISE_MARGIN}")
    print(f"  -> photos matched {matched}/{len(to_own)}; negatives matched {leaked}/{len(worst) + len(held_out_best)}")

    print("\n## More like this (preview to preview, best pair per pattern pair)")
    same: list[float] = []
    cross: list[float] = []
    for a, first in enumerate(entries):
        for b, second in enumerate(entries):
            if b <= a or not first["previews"] or not second["previews"]:
                continue
            start_a, start_b = owners.index(a), owners.index(b)
            block = (
                catalogue_vectors[start_a : start_a + len(first["previews"])]
                @ catalogue_vectors[start_b : start_b + len(second["previews"])].T
            )
            (same if first["family"] == second["family"] else cross).append(float(block.max()))
            if first["family"] != second["family"] and block.max() >= 0.65:
                print(f"  close across families: {first['title']!r} ~ {second['title']!r} {block.max():.3f}")
    print(f"  same family:      {describe(same)}")
    print(f"  different family: {describe(cross)}")
    print(f"  floors now: same family {selectors.SIMILAR_FLOOR}, other family {selectors.SIMILAR_CROSS_FAMILY_FLOOR}")


def main() -> None:
    entries = catalogue()
    text_calibration(entries)
    image_calibration(entries)


if __name__ == "__main__":
    main()
