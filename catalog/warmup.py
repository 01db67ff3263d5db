"""Load the text and image models before the first request or task needs them (cold start).

A search that has to load MiniLM and EfficientNet first takes many seconds; the web workers and the model
workers call ``models_warm`` when they start instead (``marketplace.wsgi``, ``marketplace.celery``).
"""

from __future__ import annotations

import logging
import time

logger = logging.getLogger(__name__)


def models_warm() -> float:
    """Load both models and run each once (torch sets itself up on the first pass). Returns the seconds taken."""
    from PIL import Image

    from catalog.embeddings import embed_texts
    from catalog.vision import forward, noise_reference_embeddings

    started = time.monotonic()
    embed_texts(["warm up"])
    forward([Image.new("RGB", (64, 64), "white")])
    noise_reference_embeddings()  # the image search's noise yardstick, embedded once per process
    elapsed = time.monotonic() - started
    logger.info("text and image models ready in %.1f s", elapsed)
    return elapsed
