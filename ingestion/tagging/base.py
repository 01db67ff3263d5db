"""The tagger interface and backend selection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from django.conf import settings
from PIL import Image


@dataclass(frozen=True)
class Suggestion:
    name: str
    kind: str
    confidence: float


class Tagger(Protocol):
    def suggest(self, images: Sequence[Image.Image], terms: Sequence[tuple[str, str, str]]) -> list[list[Suggestion]]:
        """For each image, taxonomy suggestions; ``terms`` are (name, kind, description)."""
        ...


def tagger() -> Tagger:
    backend = settings.TESSERA_TAGGER_BACKEND or ("clip" if settings.TESSERA_CLIP_WEIGHTS else "conse")
    if backend == "clip":
        from .clip import ClipTagger

        return ClipTagger(settings.TESSERA_CLIP_MODEL, settings.TESSERA_CLIP_WEIGHTS)
    from .conse import ConseTagger

    return ConseTagger()


def pick_per_kind(
    scores: np.ndarray, terms: Sequence[tuple[str, str, str]], *, minimum: float, per_kind: int = 2
) -> list[Suggestion]:
    """The best-scoring terms at or above ``minimum``, at most ``per_kind`` of each kind, best first."""
    chosen: list[Suggestion] = []
    counts: dict[str, int] = {}
    for index in np.argsort(-scores):
        name, kind, _ = terms[index]
        if scores[index] < minimum:
            break
        if counts.get(kind, 0) < per_kind:
            counts[kind] = counts.get(kind, 0) + 1
            chosen.append(Suggestion(name, kind, round(float(scores[index]), 3)))
    return chosen
