"""Running the tagger on a pattern and recording its suggestions."""

from __future__ import annotations

import logging

import numpy as np
from django.conf import settings
from django.db import transaction
from PIL import Image

from catalog.models import FORMAT_FAMILIES, Pattern, Preview, TagProbe, TagSuggestion, TaxonomyTerm
from catalog.services import pattern_suggestions_record
from catalog.vision import forward, letterbox

from .base import Suggestion, tagger
from .conse import ConseTagger
from .pixels import pixel_features

logger = logging.getLogger(__name__)
MAX_IMAGES = 4


def _images(pattern_id: int) -> tuple[list[Image.Image], list[Preview]]:
    previews = list(Preview.objects.filter(pattern_id=pattern_id, position=0).order_by("pattern_file_id")[:MAX_IMAGES])
    images = []
    for preview in previews:
        with preview.image.open("rb") as handle, Image.open(handle) as image:
            images.append(image.convert("RGB"))
    return images, previews


def probe_suggestions(previews: list[Preview]) -> list[Suggestion]:
    """Tags that the marketplace's own confirmed corrections taught the linear probes."""
    vectors = [np.asarray(p.embedding) for p in previews if p.embedding is not None]
    if not vectors:
        return []
    mean = np.mean(vectors, axis=0)
    found = []
    for probe in TagProbe.objects.select_related("tag"):
        score = 1 / (1 + np.exp(-(float(np.dot(np.asarray(probe.weights), mean)) + probe.bias)))
        if score >= 0.5:
            found.append(Suggestion(probe.tag.name, "probe", round(float(score), 3)))
    return found


def _tagging_finished(pattern_id: int) -> None:
    """Tagging was the last step the creator waits for: the status page may say "Ready" now, not before."""
    Pattern.objects.filter(pk=pattern_id, processing_step=Pattern.Step.TAGGING).update(
        processing_step=Pattern.Step.READY
    )


def pattern_tag(*, pattern_id: int) -> list[TagSuggestion]:
    """Suggest tags from the previews (model + pixel features + learned probes). Idempotent: decisions
    already made (by the creator, a moderator or an earlier run) are kept."""
    pattern = Pattern.objects.filter(pk=pattern_id).first()
    if pattern is None:
        return []
    images, previews = _images(pattern_id)
    if not images:
        _tagging_finished(pattern_id)
        return []
    terms = [(t.name, t.kind, t.description) for t in TaxonomyTerm.objects.filter(active=True).exclude(kind="colour")]
    merged: dict[str, tuple[Suggestion, str]] = {}
    backend = tagger()
    arrays = letterbox(images)
    if isinstance(backend, ConseTagger):
        # One network pass gives both the embeddings (stored if missing) and the logits ConSE needs.
        embeddings, logits = forward(arrays)
        for preview, vector in zip(previews, embeddings, strict=True):
            if preview.embedding is None:
                Preview.objects.filter(pk=preview.pk, embedding__isnull=True).update(embedding=vector.tolist())
                preview.embedding = vector
        model_suggestions = backend.suggest(images, terms, logits=logits)
    else:
        model_suggestions = backend.suggest(images, terms)
    for suggestions in model_suggestions:
        for suggestion in suggestions:
            if suggestion.name not in merged or merged[suggestion.name][0].confidence < suggestion.confidence:
                merged[suggestion.name] = (suggestion, TagSuggestion.Source.MODEL)
    renders = {"mesh", "vector", "document"}
    families = set(pattern.files.values_list("format", flat=True))
    rendered = bool({FORMAT_FAMILIES[f] for f in families} & renders)
    features = pixel_features(arrays[0], ignore_white_background=rendered)
    our_colours = bool({FORMAT_FAMILIES[f] for f in families} & {"mesh", "vector"})
    for suggestion in features.suggestions(
        tileable=not rendered, describe_rendering=not rendered, colours=not our_colours
    ):
        merged.setdefault(suggestion.name, (suggestion, TagSuggestion.Source.MODEL))
    for suggestion in probe_suggestions(previews):
        merged.setdefault(suggestion.name, (suggestion, TagSuggestion.Source.PROBE))
    with transaction.atomic():
        Pattern.objects.select_for_update().filter(pk=pattern_id).first()
        recorded = pattern_suggestions_record(
            pattern=pattern,
            suggestions=[(s.name, s.kind, s.confidence, source) for s, source in merged.values()],
            auto_accept=settings.TESSERA_TAG_AUTO_ACCEPT,
        )
        _tagging_finished(pattern_id)
    logger.info("pattern %s: %s tag suggestions", pattern_id, len(recorded))
    return recorded
