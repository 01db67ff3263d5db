"""Keyed scalar quantization index modulation, shared by the mesh and vector carriers.

Each coordinate value is moved to the nearest point of one of two interleaved lattices (spacing
``step``, offset by a keyed dither); which lattice carries a codeword bit. The bit a value carries is
chosen by a keyed hash of the coarse cell (``cell`` units) the value lies in and of its axis, so
equal values stay equal (a watertight mesh stays watertight, a closed contour stays closed) and the
assignment does not depend on the order a re-export writes vertices in. A value moves at most
``step / 2``.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np

from delivery.watermark.payload import CODEWORD_BITS

CELL_OFFSET = 0.3183098861837907
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _seed(key: bytes, label: str) -> np.uint64:
    digest = hmac.new(key, b"qim:" + label.encode(), hashlib.sha256).digest()
    return np.frombuffer(digest[:8], dtype=np.uint64)[0]


def _hash(cells: np.ndarray, axes: np.ndarray, seed: np.uint64) -> np.ndarray:
    """splitmix64 over (cell, axis, seed): fast, vectorised and well mixed."""
    with np.errstate(over="ignore"):
        z = cells.astype(np.int64).view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = z ^ (axes.astype(np.uint64) << np.uint64(56)) ^ seed
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def _assignment(values: np.ndarray, axes: np.ndarray, *, key: bytes, label: str, cell: float):
    # Offset so that round numbers (5, 12.5, …), which drawings are full of, sit mid-cell, not on an edge.
    cells = np.floor(values / cell + CELL_OFFSET)
    hashed = _hash(cells, axes, _seed(key, label))
    bit = (hashed % np.uint64(CODEWORD_BITS)).astype(np.int64)
    dither = ((hashed >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.float64) / 65536.0
    return cells, bit, dither


def embed(
    values: np.ndarray, axes: np.ndarray, *, signs: np.ndarray, key: bytes, label: str, step: float, cell: float
) -> np.ndarray:
    """Return marked copies of ``values`` (float64); each moves by at most ``step / 2``."""
    values = np.asarray(values, dtype=np.float64)
    cells, bit, dither = _assignment(values, axes, key=key, label=label, cell=cell)
    offset = step * (dither + np.where(signs[bit] > 0, 0.5, 0.0))
    marked = step * np.round((values - offset) / step) + offset
    # A value so close to a cell edge that marking pushes it into the next cell would be read with
    # another bit's key; leave it as it is (it then votes at random, which the code absorbs).
    crossed = np.floor(marked / cell + CELL_OFFSET) != cells
    return np.where(crossed, values, marked)


def soft_bits(
    values: np.ndarray, axes: np.ndarray, *, key: bytes, label: str, step: float, cell: float
) -> tuple[np.ndarray, np.ndarray]:
    """Mean vote per codeword bit in [-1, 1] (positive: bit 1) and how many values voted for each."""
    values = np.asarray(values, dtype=np.float64).ravel()
    axes = np.asarray(axes).ravel()
    _cells, bit, dither = _assignment(values, axes, key=key, label=label, cell=cell)
    # +1 on the bit-1 lattice, -1 on the bit-0 lattice, near 0 between them.
    vote = -np.cos(2 * np.pi * (values / step - dither))
    counts = np.bincount(bit, minlength=CODEWORD_BITS).astype(np.float64)
    sums = np.bincount(bit, weights=vote, minlength=CODEWORD_BITS)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    # A bit whose votes cancel out is better treated as lost than guessed.
    means[np.abs(means) < 0.2] = 0.0
    return means, counts
