"""The tagger interface and backend selection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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
