"""A rotation-, translation- and scale-invariant shape descriptor for meshes, and image perceptual hashes.

Shape: the D2 shape distribution (Osada et al., 2002: the histogram of distances between random surface
points), the D1 distribution (distances from the centroid) and the ratios of the principal moments, each
normalised by the mean distance so scale drops out. Square roots of the histograms make cosine similarity a
Hellinger-style comparison. Re-meshing and re-exporting change the triangles, not the surface, so the
descriptor barely moves; a different object moves it a lot.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

D2_BINS = 64
D1_BINS = 24
SHAPE_DIMENSIONS = D2_BINS + D1_BINS + 2
SURFACE_SAMPLES = 20_000
PAIR_SAMPLES = 250_000
_SEED = 20_240_601  # fixed, so the same file always gives the same descriptor
# Copy thresholds, measured by `make bench-copies` (docs/benchmarks.md): Euclidean distance between shape
# descriptors, and differing bits between 64-bit image hashes.
SHAPE_COPY_DISTANCE = 0.02
IMAGE_COPY_BITS = 10


def surface_points(triangles: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Points uniformly distributed over the surface (area-weighted triangle choice, uniform barycentrics)."""
    triangles = np.asarray(triangles, dtype=np.float64)
    cross = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    areas = np.sqrt((cross * cross).sum(axis=1))
    total = areas.sum()
    if total <= 0:
        return np.repeat(triangles.reshape(-1, 3)[:1], count, axis=0)
    chosen = rng.choice(len(triangles), size=count, p=areas / total)
    r1, r2 = rng.random(count), rng.random(count)
    root = np.sqrt(r1)
    a, b, c = 1 - root, root * (1 - r2), root * r2
    corners = triangles[chosen]
    return a[:, None] * corners[:, 0] + b[:, None] * corners[:, 1] + c[:, None] * corners[:, 2]


def shape_descriptor(triangles: np.ndarray) -> np.ndarray:
    """A unit vector of SHAPE_DIMENSIONS floats; similar shapes have cosine similarity near 1."""
    rng = np.random.default_rng(_SEED)
    points = surface_points(triangles, SURFACE_SAMPLES, rng)
    centred = points - points.mean(axis=0)
    first, second = rng.integers(0, len(points), PAIR_SAMPLES), rng.integers(0, len(points), PAIR_SAMPLES)
    pairs = np.linalg.norm(points[first] - points[second], axis=1)
    scale = pairs.mean() or 1.0
    d2, _ = np.histogram(pairs / scale, bins=D2_BINS, range=(0.0, 3.2))
    radial = np.linalg.norm(centred, axis=1)
    d1, _ = np.histogram(radial / (radial.mean() or 1.0), bins=D1_BINS, range=(0.0, 3.0))
    eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(centred.T)))[::-1]
    ratios = np.sqrt(np.clip(eigenvalues[1:] / (eigenvalues[0] or 1.0), 0, 1))
    vector = np.concatenate([np.sqrt(d2 / max(d2.sum(), 1)), np.sqrt(d1 / max(d1.sum(), 1)), 0.5 * ratios]).astype(
        np.float32
    )
    return vector / (np.linalg.norm(vector) or 1.0)


def difference_hash(image: Image.Image, size: int = 8) -> np.ndarray:
    """dHash: 64 bits comparing neighbouring pixels of a tiny greyscale copy; robust to resizing and JPEG."""
    grey = image.convert("L").resize((size + 1, size), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.int16)
    return (pixels[:, 1:] > pixels[:, :-1]).astype(np.float32).ravel()
