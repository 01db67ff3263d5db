"""Per-tag linear probes on preview embeddings, fitted on the tags people kept or removed.

Positives: patterns whose tag a creator or moderator accepted (or typed). Negatives: patterns where it was
removed, plus patterns that do not carry it. A probe needs enough of both; its suggestions then join the
model's, so the marketplace's own corrections improve tagging over time.
"""

from __future__ import annotations

import logging

import numpy as np
from django.db.models import Count, Q

from catalog.models import Pattern, Preview, Tag, TagProbe, TagSuggestion

logger = logging.getLogger(__name__)
MIN_EXAMPLES = 5


def _pattern_vectors(pattern_ids: list[int]) -> dict[int, np.ndarray]:
    vectors: dict[int, list[np.ndarray]] = {}
    for pattern_id, embedding in Preview.objects.filter(
        pattern_id__in=pattern_ids, embedding__isnull=False
    ).values_list("pattern_id", "embedding"):
        vectors.setdefault(pattern_id, []).append(np.asarray(embedding))
    return {pattern_id: np.mean(rows, axis=0) for pattern_id, rows in vectors.items()}


def tag_probes_fit(*, min_examples: int = MIN_EXAMPLES) -> int:
    """Fit or refresh a probe for every tag with enough confirmed examples; returns how many were fitted."""
    from sklearn.linear_model import LogisticRegression

    confirmed = Q(suggestions__state=TagSuggestion.State.ACCEPTED) & Q(
        suggestions__source__in=[TagSuggestion.Source.CREATOR, TagSuggestion.Source.MODERATOR]
    ) | Q(suggestions__state=TagSuggestion.State.ACCEPTED, suggestions__decided_by__isnull=False)
    candidates = Tag.objects.annotate(confirmed=Count("suggestions", filter=confirmed, distinct=True)).filter(
        confirmed__gte=min_examples
    )
    all_ids = list(Pattern.objects.values_list("id", flat=True))
    vectors = _pattern_vectors(all_ids)
    fitted = 0
    for tag in candidates:
        decided = TagSuggestion.objects.filter(tag=tag)
        positive_ids = set(
            decided.filter(state=TagSuggestion.State.ACCEPTED)
            .filter(Q(source__in=["creator", "moderator"]) | Q(decided_by__isnull=False))
            .values_list("pattern_id", flat=True)
        )
        rejected_ids = set(decided.filter(state=TagSuggestion.State.REJECTED).values_list("pattern_id", flat=True))
        untagged_ids = set(vectors) - positive_ids - set(decided.values_list("pattern_id", flat=True))
        negative_ids = rejected_ids | untagged_ids
        positives = [vectors[i] for i in positive_ids if i in vectors]
        negatives = [vectors[i] for i in negative_ids if i in vectors]
        if len(positives) < min_examples or len(negatives) < min_examples:
            continue
        features = np.vstack([positives, negatives])
        labels = np.array([1] * len(positives) + [0] * len(negatives))
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=500).fit(features, labels)
        TagProbe.objects.update_or_create(
            tag=tag,
            defaults={
                "weights": model.coef_[0].astype(np.float32).tolist(),
                "bias": float(model.intercept_[0]),
                "positives": len(positives),
                "negatives": len(negatives),
            },
        )
        fitted += 1
    logger.info("fitted %s tag probes", fitted)
    return fitted
