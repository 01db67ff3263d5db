"""CLIP zero-shot tagging, from open_clip weights a deployment provides at a local path.

open_clip needs torchvision, which cannot be installed beside the torch build used here, so it is imported
only when this backend is configured (TESSERA_CLIP_WEIGHTS). The tagging itself works on any model with
``encode_image``/``encode_text``, a preprocess and a tokenizer; the tests run it on a tiny model they build.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PIL import Image

from catalog.embeddings import device

from .base import Suggestion, pick_per_kind

MIN_PROBABILITY = 0.15
PER_KIND = 2


def load_open_clip(model_name: str, weights_path: str) -> tuple[Any, Callable[[Image.Image], Any], Any]:
    """(model, preprocess, tokenizer) from a local weights file; never downloads."""
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=weights_path)
    return model, preprocess, open_clip.get_tokenizer(model_name)


class ClipTagger:
    def __init__(
        self,
        model_name: str = "",
        weights_path: str = "",
        *,
        loaded: tuple[Any, Callable[[Image.Image], Any], Any] | None = None,
    ) -> None:
        import torch

        self.torch = torch
        self.device = device()
        model, self.preprocess, self.tokenizer = loaded or load_open_clip(model_name, weights_path)
        self.model = model.eval().to(self.device)

    def suggest(self, images: Sequence[Image.Image], terms: Sequence[tuple[str, str, str]]) -> list[list[Suggestion]]:
        if not images or not terms:
            return [[] for _ in images]
        torch = self.torch
        prompts = [f"a pattern of {name}, {description}" for name, _, description in terms]
        with torch.inference_mode():
            pixels = torch.stack([self.preprocess(image.convert("RGB")) for image in images]).to(self.device)
            tokens = self.tokenizer(prompts).to(self.device)
            image_features = torch.nn.functional.normalize(self.model.encode_image(pixels), dim=-1)
            text_features = torch.nn.functional.normalize(self.model.encode_text(tokens), dim=-1)
            probabilities = (100.0 * image_features @ text_features.T).softmax(dim=-1).float().cpu().numpy()
        return [pick_per_kind(row, terms, minimum=MIN_PROBABILITY, per_kind=PER_KIND) for row in probabilities]
