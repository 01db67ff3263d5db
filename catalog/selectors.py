"""Reads of the catalog that pages and the API reuse; each owns its joins so no page runs N+1 queries."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import Case, F, Prefetch, Q, QuerySet, Value, When
from pgvector.django import CosineDistance, L1Distance, L2Distance

from catalog.models import FORMAT_FAMILIES, Category, Pattern, PatternFile, Preview, Tag, ViewerModel
from catalog.permissions import VIEW_PATTERNS, staff_has_perm

logger = logging.getLogger(__name__)


def _with_relations(queryset: QuerySet[Pattern]) -> QuerySet[Pattern]:
    return queryset.select_related("creator", "creator__creator_profile", "category", "licence").prefetch_related(
        "tags",
        Prefetch("previews", queryset=Preview.objects.order_by("pattern_file_id", "position")),
        Prefetch("files", queryset=PatternFile.objects.select_related("viewer_model").order_by("id")),
    )


def pattern_list_published(
    *,
    query: str = "",
    file_format: str = "",
    category: str = "",
    tag: str = "",
    licence: str = "",
    price_min: int | None = None,
    price_max: int | None = None,
    validated: bool = False,
    printer_bed: str = "",
) -> QuerySet[Pattern]:
    """Published patterns with facets, ranked by hybrid relevance when ``query`` is given, newest first otherwise.

    ``validated``: every file passed every check without a warning. ``printer_bed``: every mesh fits that
    printer (a name from ``ingestion.validators.mesh.PRINTER_BEDS``).
    """
    patterns = Pattern.objects.filter(status=Pattern.Status.PUBLISHED)
    if file_format:
        patterns = patterns.filter(files__format=file_format.lower()).distinct()
    if category:
        patterns = patterns.filter(category__slug=category)
    if tag:
        patterns = patterns.filter(tags__slug=tag)
    if licence:
        patterns = patterns.filter(licence__code=licence)
    if price_min is not None:
        patterns = patterns.filter(price__gte=price_min)
    if price_max is not None:
        patterns = patterns.filter(price__lte=price_max)
    if validated:
        # A report with a warning or an error has a finding of that severity.
        flagged = PatternFile.objects.filter(
            Q(validation__findings__contains=[{"severity": "warning"}])
            | Q(validation__findings__contains=[{"severity": "error"}])
        ).values("pattern_id")
        patterns = patterns.exclude(pk__in=flagged)
    if printer_bed:
        too_big = (
            PatternFile.objects.filter(validation__properties__has_key="fits_printer_beds")
            .exclude(validation__properties__fits_printer_beds__contains=[printer_bed])
            .values("pattern_id")
        )
        patterns = patterns.filter(files__validation__properties__has_key="fits_printer_beds").exclude(pk__in=too_big)
        patterns = patterns.distinct()
    query = query.strip()
    if query:
        ranked_ids = _hybrid_ranking(patterns, query)
        order = Case(*[When(pk=pk, then=Value(position)) for position, pk in enumerate(ranked_ids)])
        patterns = Pattern.objects.filter(pk__in=ranked_ids).order_by(order) if ranked_ids else patterns.none()
    else:
        patterns = patterns.order_by("-published_at", "-id")
    return _with_relations(patterns)


# Reciprocal rank fusion (Cormack et al., 2009): score = Σ 1 / (RRF_K + rank) over the two rankings.
RRF_K = 60
CANDIDATES = 200
# Relevance floors, measured by bench/calibrate_floors.py on the demo catalogue with held-out queries and images
# (figures in docs/benchmarks.md, "Relevance floors"). Cosine similarity of MiniLM text embeddings: relevant
# buyer queries score 0.25-0.64 against their pattern (median 0.40), queries for things the catalogue does not
# have score at most 0.37 against any pattern (median 0.25; "dragon" 0.307 against the traffic cone). 0.32 makes
# the fewest mistakes on the calibration set (3 of 12 relevant queries fall to "close ideas", 1 of 16 unrelated
# ones passes); a full-text hit is always a match whatever its semantic score.
SEMANTIC_FLOOR = 0.32
# Below the match floor but above this, a semantic neighbour is offered as a "close idea" on the empty-results
# page, never as a match (every relevant calibration query but one scores above it).
SEMANTIC_CLOSE_FLOOR = 0.22
# EfficientNet-Lite0 cosine similarity, best preview per pattern. Photos of demo previews (cropped, turned,
# recoloured, JPEG) score 0.46-0.95 against their own pattern (median 0.78); unrelated photographs 0.21-0.39; random
# noise 0.47-0.65 (mesh renders attract it), which overlaps the photos. So a match needs both: at least IMAGE_FLOOR
# (above every unrelated photograph), and IMAGE_NOISE_MARGIN more than the query's similarity to fixed noise images
# (ingestion.vision.noise_reference_images): photos of patterns lead by 0.13-0.74, noise trails by 0.15-0.45.
IMAGE_FLOOR = 0.45
IMAGE_NOISE_MARGIN = 0.10
# "More like this": demo patterns of the same family are 0.27-0.93 alike (median 0.50), of different families
# 0.12-0.74 (median 0.28). A same-family neighbour needs 0.45 (above every unrelated photograph); one of another
# family must look nearly the same (0.75, above every cross-family pair of the demo catalogue).
SIMILAR_FLOOR = 0.45
SIMILAR_CROSS_FAMILY_FLOOR = 0.75
HNSW_EF_SEARCH = 100


def _hybrid_ranking(patterns: QuerySet[Pattern], query: str) -> list[int]:
    """Full-text and semantic rankings fused by RRF; the ids of every pattern either ranking found."""
    search_query = SearchQuery(query, search_type="websearch", config="english")
    lexical = list(
        patterns.filter(search_vector=search_query)
        .annotate(rank=SearchRank(F("search_vector"), search_query))
        .order_by("-rank", "-published_at", "-id")
        .values_list("id", flat=True)[:CANDIDATES]
    )
    semantic = [pk for pk, _ in _semantic_neighbours(patterns, query, floor=SEMANTIC_FLOOR)]
    scores: dict[int, float] = {}
    for ranking in (lexical, semantic):
        for position, pk in enumerate(dict.fromkeys(ranking)):
            scores[pk] = scores.get(pk, 0.0) + 1.0 / (RRF_K + position + 1)
    return sorted(scores, key=lambda pk: (-scores[pk], pk))


def _semantic_neighbours(patterns: QuerySet[Pattern], query: str, *, floor: float) -> list[tuple[int, float]]:
    """(id, cosine similarity) of ``patterns`` whose text embedding is at least ``floor`` like the query's."""
    try:
        from ingestion.embeddings import embed_query

        vector = embed_query(query)
    except (ImportError, OSError, RuntimeError):
        logger.exception("semantic search unavailable; using full-text ranking only")
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        # pgvector's default (40) gave recall@10 of 0.84 in make bench-search; 100 gives 0.92.
        cursor.execute("SET LOCAL hnsw.ef_search = %s", [HNSW_EF_SEARCH])
        nearest = (
            patterns.filter(text_embedding__isnull=False)
            .annotate(distance=CosineDistance("text_embedding", vector))
            .filter(distance__lte=1 - floor)
            .order_by("distance", "id")
            .values_list("id", "distance")[:CANDIDATES]
        )
        return [(pk, 1.0 - float(distance)) for pk, distance in nearest]


def pattern_close_ideas(*, query: str, limit: int = 8) -> list[Pattern]:
    """Published patterns semantically near ``query`` but below the match floor: "close ideas" for a search
    that found no matches. Patterns that do match (full text or above the floor) are not repeated here."""
    query = query.strip()
    if not query:
        return []
    published = Pattern.objects.filter(status=Pattern.Status.PUBLISHED)
    near = _semantic_neighbours(published, query, floor=SEMANTIC_CLOSE_FLOOR)
    matching = set(_hybrid_ranking(published, query))
    ordered = [pk for pk, similarity in near if similarity < SEMANTIC_FLOOR and pk not in matching][:limit]
    patterns = {p.pk: p for p in _with_relations(Pattern.objects.filter(pk__in=ordered))}
    return [patterns[pk] for pk in ordered if pk in patterns]


def pattern_visible_to(*, user: Any) -> QuerySet[Pattern]:
    """Published patterns, plus a creator's own in any state; staff who may view patterns see everything."""
    patterns = Pattern.objects.all()
    if staff_has_perm(user, *VIEW_PATTERNS):
        return _with_relations(patterns)
    if getattr(user, "is_authenticated", False):
        return _with_relations(patterns.filter(Q(status=Pattern.Status.PUBLISHED) | Q(creator=user)))
    return _with_relations(patterns.filter(status=Pattern.Status.PUBLISHED))


def preview_get_visible(*, user: Any, preview_id: int) -> Preview | None:
    """A preview whose pattern ``user`` may see (the same rule as the pattern page), else None."""
    visible = pattern_visible_to(user=user).values("pk")
    return Preview.objects.filter(pk=preview_id, pattern__in=visible).first()


def viewer_model_get_visible(*, user: Any, viewer_model_id: int) -> ViewerModel | None:
    """A viewer mesh whose pattern ``user`` may see, else None."""
    visible = pattern_visible_to(user=user).values("pk")
    return ViewerModel.objects.filter(pk=viewer_model_id, pattern_file__pattern__in=visible).first()


def pattern_list_for_creator(*, creator: Any) -> QuerySet[Pattern]:
    return _with_relations(Pattern.objects.filter(creator=creator).order_by("-created_at"))


def pattern_get_published(*, pattern_id: int) -> Pattern | None:
    return (
        Pattern.objects.select_related("licence", "creator")
        .filter(pk=pattern_id, status=Pattern.Status.PUBLISHED)
        .first()
    )


def category_list() -> QuerySet[Category]:
    return Category.objects.all()


def tag_list_popular(*, limit: int = 20) -> list[Tag]:
    from django.db.models import Count

    return list(
        # Subjects only: file formats, colours and rendering types are attributes, not things to discover.
        Tag.objects.filter(kind=Tag.Kind.SUBJECT, patterns__status=Pattern.Status.PUBLISHED)
        .annotate(uses=Count("patterns"))
        .order_by("-uses", "name")[:limit]
    )


def _rank_patterns_by_previews(vector: Any, *, exclude_pattern_id: int | None, limit: int) -> list[tuple[int, float]]:
    """Published patterns whose previews are nearest to ``vector``: [(pattern id, cosine similarity)]."""
    previews = Preview.objects.filter(pattern__status=Pattern.Status.PUBLISHED, embedding__isnull=False)
    if exclude_pattern_id is not None:
        previews = previews.exclude(pattern_id=exclude_pattern_id)
    nearest = (
        previews.annotate(distance=CosineDistance("embedding", vector))
        .order_by("distance")
        .values_list("pattern_id", "distance")[: limit * 4]
    )
    best: dict[int, float] = {}
    for pattern_id, distance in nearest:
        best.setdefault(pattern_id, 1.0 - float(distance))
    return list(best.items())[:limit]


def pattern_search_by_image(*, image: Any, limit: int = 24) -> list[tuple[Pattern, float]]:
    """Published patterns that look like ``image`` (a PIL image), best first, with their similarity.

    Only matches: at least ``IMAGE_FLOOR`` alike, and clearly more like the pattern than like random noise."""
    from ingestion.vision import image_embeddings, noise_reference_embeddings

    vector = image_embeddings([image])[0]
    like_noise = float((noise_reference_embeddings() @ vector).max())
    floor = max(IMAGE_FLOOR, like_noise + IMAGE_NOISE_MARGIN)
    ranked = [
        (pk, similarity)
        for pk, similarity in _rank_patterns_by_previews(vector, exclude_pattern_id=None, limit=limit)
        if similarity >= floor
    ]
    patterns = {p.pk: p for p in _with_relations(Pattern.objects.filter(pk__in=[pk for pk, _ in ranked]))}
    return [(patterns[pk], similarity) for pk, similarity in ranked if pk in patterns]


def _pattern_families(pattern_ids: Any) -> dict[int, set[str]]:
    """Each pattern's families (mesh, vector, document, image, bundle), from its files' formats."""
    families: dict[int, set[str]] = {}
    for pattern_id, file_format in PatternFile.objects.filter(pattern_id__in=pattern_ids).values_list(
        "pattern_id", "format"
    ):
        families.setdefault(pattern_id, set()).add(FORMAT_FAMILIES.get(file_format, "bundle"))
    return families


def pattern_similar(*, pattern: Pattern, limit: int = 8) -> list[Pattern]:
    """ "More like this": neighbours by appearance (preview embeddings) and, for meshes, by 3D shape, fused by RRF.

    Only neighbours that look alike: ``SIMILAR_FLOOR`` for patterns of the same family (a mesh for a mesh),
    ``SIMILAR_CROSS_FAMILY_FLOOR`` for another family, so a PDF sewing pattern does not fill a vase's page.
    """
    import numpy as np

    vectors = [np.asarray(v) for v in pattern.previews.exclude(embedding=None).values_list("embedding", flat=True)]
    if not vectors:
        return []
    mean = np.mean(vectors, axis=0)
    mean = mean / (np.linalg.norm(mean) or 1.0)
    looks = dict(_rank_patterns_by_previews(mean, exclude_pattern_id=pattern.pk, limit=50))
    own = _pattern_families([pattern.pk]).get(pattern.pk, set())
    families = _pattern_families(list(looks))
    alike = {
        pk
        for pk, similarity in looks.items()
        if similarity >= (SIMILAR_FLOOR if families.get(pk, set()) & own else SIMILAR_CROSS_FAMILY_FLOOR)
    }
    rankings: list[list[int]] = [[pk for pk in looks if pk in alike]]
    shapes = [s for s in pattern.files.exclude(shape_descriptor=None).values_list("shape_descriptor", flat=True)]
    if shapes:
        nearest = (
            PatternFile.objects.filter(pattern__status=Pattern.Status.PUBLISHED, shape_descriptor__isnull=False)
            .exclude(pattern_id=pattern.pk)
            .annotate(distance=L2Distance("shape_descriptor", shapes[0]))
            .order_by("distance")
            .values_list("pattern_id", flat=True)[:50]
        )
        # Shape orders the neighbours that look alike; it does not admit one the floor left out.
        rankings.append([pk for pk in dict.fromkeys(nearest) if pk in alike])
    scores: dict[int, float] = {}
    for ranking in rankings:
        for position, pk in enumerate(ranking):
            scores[pk] = scores.get(pk, 0.0) + 1.0 / (RRF_K + position + 1)
    ordered = sorted(scores, key=lambda pk: (-scores[pk], pk))[:limit]
    patterns = {p.pk: p for p in _with_relations(Pattern.objects.filter(pk__in=ordered))}
    return [patterns[pk] for pk in ordered if pk in patterns]


# Shape descriptors compare by Euclidean distance; 0/1 image hashes by L1, which counts differing bits.
_FILE_FINGERPRINT_METRICS = {"shape_descriptor": L2Distance, "image_hash": L1Distance}


def pattern_files_nearest(
    *, files: QuerySet[PatternFile], field: str, vector: Any, within: float, limit: int = 5
) -> list[tuple[PatternFile, float]]:
    """(file, distance) for files of ``files`` whose fingerprint ``field`` lies within ``within`` of ``vector``.

    Nearest first. Copy detection and the leak tracer both look files up this way.
    """
    metric = _FILE_FINGERPRINT_METRICS[field]
    nearest = (
        files.filter(**{f"{field}__isnull": False})
        .annotate(distance=metric(field, vector))
        .filter(distance__lte=within)
        .order_by("distance")[:limit]
    )
    return [(match, float(match.distance)) for match in nearest]
