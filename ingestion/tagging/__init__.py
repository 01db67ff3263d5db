"""Auto-tagging: one interface, batched, on the ``gpu`` queue (CUDA when torch sees one, the CPU otherwise).

Backends: ``conse`` (the default: EfficientNet-Lite0 ImageNet classes mapped through MiniLM text embeddings onto
the taxonomy, Norouzi et al. 2014) and ``clip`` (open_clip weights from a configured local path). Pixel features
(palette with colour names, line art / photo / render, symmetry, seamless tiles) run for every backend.
"""

from __future__ import annotations

from .base import Suggestion, tagger

__all__ = ["Suggestion", "tagger"]
