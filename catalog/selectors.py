"""Reads of the catalog that pages and the API reuse; each owns its joins so no page runs N+1 queries."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import Case, F, Prefetch, Q, QuerySet, Value, When
from pgvector.django import CosineDistance, L1Distance, L2Distance

from catalog.models import Category, Pattern, PatternFile, Preview, Tag, ViewerModel
from catalog.permissions import VIEW_PATTERNS, staff_has_perm

logger = logging.getLogger(__name__)


# Columns no page or serializer shows: search vectors and fingerprints (a 1,280-dimension preview embedding is
# about 10 kB of text to parse per preview). Loading them made list pages several times slower.
PATTERN_UNSHOWN_FIELDS = ("text_embedding", "search_vector")
PREVIEW_UNSHOWN_FIELDS = ("embedding",)
FILE_UNSHOWN_FIELDS = ("shape_descriptor", "image_hash")


def _with_relations(queryset: QuerySet[Pattern], *, file_reports: bool = True) -> QuerySet[Pattern]:
    """Patterns with what pages and the API show of them, in a constant number of queries.

    ``file_reports``: load each file's whole validation report (the pattern page and the API show it; cards and
    list pages do not).
    """
    file_fields = FILE_UNSHOWN_FIELDS if file_reports else (*FILE_UNSHOWN_FIELDS, "validation")
    return (
        queryset.defer(*PATTERN_UNSHOWN_FIELDS)
        .select_related("creator", "creator__creator_profile", "category", "licence")
        .prefetch_related(
            "tags",
            Prefetch(
                "previews",
                queryset=Preview.objects.defer(*PREVIEW_UNSHOWN_FIELDS).order_by("pattern_file_id", "position"),
            ),
            Prefetch(
                "files",
                queryset=PatternFile.objects.defer(*file_fields).select_related("viewer_model").order_by("id"),
            ),
        )
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
    file_reports: bool = False,
) -> QuerySet[Pattern]:
    """Published patterns with facets, ranked by hybrid relevance when ``query`` is given, newest first otherwise.

    ``validated``: every file passed every check without a warning. ``printer_bed``: every mesh fits that
    printer (a name from ``ingestion.validators.mesh.PRINTER_BEDS``). ``file_reports``: also load the files'
    validation reports (the API shows them; cards do not).
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
    return _with_relations(patterns, file_reports=file_reports)


# Reciprocal rank fusion (Cormack et al., 2009): score = Σ 1 / (RRF_K + rank) over the two rankings.
RRF_K = 60
CANDIDATES = 200
# Below this cosine similarity a semantic neighbour is noise, not a match (MiniLM, measured on the demo set).
SEMANTIC_FLOOR = 0.28
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
    semantic: list[int] = []
    try:
        from ingestion.embeddings import embed_query

        vector = embed_query(query)
    except (ImportError, OSError, RuntimeError):
        logger.exception("semantic search unavailable; using full-text ranking only")
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            # pgvector's default (40) gave recall@10 of 0.84 in make bench-search; 100 gives 0.92.
            cursor.execute("SET LOCAL hnsw.ef_search = %s", [HNSW_EF_SEARCH])
            semantic = list(
                patterns.filter(text_embedding__isnull=False)
                .annotate(distance=CosineDistance("text_embedding", vector))
                .filter(distance__lte=1 - SEMANTIC_FLOOR)
                .order_by("distance", "id")
                .values_list("id", flat=True)[:CANDIDATES]
            )
    scores: dict[int, float] = {}
    for ranking in (lexical, semantic):
        for position, pk in enumerate(dict.fromkeys(ranking)):
            scores[pk] = scores.get(pk, 0.0) + 1.0 / (RRF_K + position + 1)
    return sorted(scores, key=lambda pk: (-scores[pk], pk))


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
        Tag.objects.filter(patterns__status=Pattern.Status.PUBLISHED)
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
    """Published patterns that look like ``image`` (a PIL image), best first, with their similarity."""
    from ingestion.vision import image_embeddings

    vector = image_embeddings([image])[0]
    ranked = _rank_patterns_by_previews(vector, exclude_pattern_id=None, limit=limit)
    patterns = {p.pk: p for p in _with_relations(Pattern.objects.filter(pk__in=[pk for pk, _ in ranked]))}
    return [(patterns[pk], similarity) for pk, similarity in ranked if pk in patterns]


def pattern_similar(*, pattern: Pattern, limit: int = 8) -> list[Pattern]:
    """ "More like this": neighbours by appearance (preview embeddings) and, for meshes, by 3D shape, fused by RRF."""
    import numpy as np

    rankings: list[list[int]] = []
    vectors = [np.asarray(v) for v in pattern.previews.exclude(embedding=None).values_list("embedding", flat=True)]
    if vectors:
        mean = np.mean(vectors, axis=0)
        mean = mean / (np.linalg.norm(mean) or 1.0)
        rankings.append([pk for pk, _ in _rank_patterns_by_previews(mean, exclude_pattern_id=pattern.pk, limit=50)])
    shapes = [s for s in pattern.files.exclude(shape_descriptor=None).values_list("shape_descriptor", flat=True)]
    if shapes:
        nearest = (
            PatternFile.objects.filter(pattern__status=Pattern.Status.PUBLISHED, shape_descriptor__isnull=False)
            .exclude(pattern_id=pattern.pk)
            .annotate(distance=L2Distance("shape_descriptor", shapes[0]))
            .order_by("distance")
            .values_list("pattern_id", flat=True)[:50]
        )
        rankings.append(list(dict.fromkeys(nearest)))
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
