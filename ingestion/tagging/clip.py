"""CLIP zero-shot tagging with open_clip, from weights a deployment provides at a local path.

open_clip needs torchvision, which cannot be installed beside the torch build used here; this backend is
selected only when TESSERA_CLIP_WEIGHTS is set, and it imports open_clip only then.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from .base import Suggestion

MIN_PROBABILITY = 0.15
PER_KIND = 2


class ClipTagger:
    def __init__(self, model_name: str, weights_path: str) -> None:
        import open_clip
        import torch

        from ingestion.embeddings import device

        self.torch = torch
        self.device = device()
        self.model, _, self.preprocess = open_clip.create_model_and_transforms(model_name, pretrained=weights_path)
        self.model = self.model.eval().to(self.device)
        self.tokenizer: Any = open_clip.get_tokenizer(model_name)

    def suggest(self, images: Sequence[Image.Image], terms: Sequence[tuple[str, str, str]]) -> list[list[Suggestion]]:
        if not images or not terms:
            return [[] for _ in images]
        torch = self.torch
        with torch.inference_mode():
            pixels = torch.stack([self.preprocess(image.convert("RGB")) for image in images]).to(self.device)
            tokens = self.tokenizer([f"a pattern of {name}, {description}" for name, _, description in terms]).to(
                self.device
            )
            image_features = torch.nn.functional.normalize(self.model.encode_image(pixels), dim=-1)
            text_features = torch.nn.functional.normalize(self.model.encode_text(tokens), dim=-1)
            probabilities = (100.0 * image_features @ text_features.T).softmax(dim=-1).cpu().numpy()
        results = []
        for row in probabilities:
            chosen: list[Suggestion] = []
            per_kind: dict[str, int] = {}
            for index in np.argsort(-row):
                name, kind, _ = terms[index]
                if row[index] < MIN_PROBABILITY:
                    break
                if per_kind.get(kind, 0) < PER_KIND:
                    per_kind[kind] = per_kind.get(kind, 0) + 1
                    chosen.append(Suggestion(name, kind, round(float(row[index]), 3)))
            results.append(chosen)
        return results
