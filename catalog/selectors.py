"""Reads of the catalog that pages and the API reuse; each owns its joins so no page runs N+1 queries."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import Case, Count, F, FloatField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from pgvector.django import CosineDistance, L1Distance, L2Distance

from catalog import typos
from catalog.models import (
    FORMAT_FAMILIES,
    Category,
    CreatorProfile,
    Licence,
    Pattern,
    PatternFile,
    PatternVersion,
    Preview,
    PreviewRendition,
    Tag,
    TagSuggestion,
    ViewerModel,
)
from catalog.permissions import VIEW_PATTERNS, staff_has_perm
from catalog.printers import PRINTER_BEDS

logger = logging.getLogger(__name__)


# Columns no page or serializer shows: search vectors and fingerprints (a 1,280-dimension preview embedding is
# about 10 kB of text to parse per preview). Loading them made list pages several times slower.
PATTERN_UNSHOWN_FIELDS = ("text_embedding", "search_vector")
PREVIEW_UNSHOWN_FIELDS = ("embedding",)
FILE_UNSHOWN_FIELDS = ("shape_descriptor", "image_hash")
# Never needed by a page, and never to be kept in the page cache with the pattern it came with.
CREATOR_UNSHOWN_FIELDS = ("creator__password",)


def _current_version_only(queryset: QuerySet[Any], file_prefix: str) -> QuerySet[Any]:
    """Rows (files, or previews through ``file_prefix``) of their pattern's current version: the latest published
    one, version 1 when no later one is published."""
    latest = (
        PatternVersion.objects.filter(
            pattern_id=OuterRef("pattern_id"), number__gt=1, status=PatternVersion.Status.PUBLISHED
        )
        .order_by("-number")
        .values("number")[:1]
    )
    return queryset.annotate(current_version=Coalesce(Subquery(latest), Value(1))).filter(
        Q(**{f"{file_prefix}version__number": F("current_version")})
        | Q(**{f"{file_prefix}version__isnull": True, "current_version": 1})
    )


def _with_relations(queryset: QuerySet[Pattern], *, file_reports: bool = True) -> QuerySet[Pattern]:
    """Patterns with what pages and the API show of them, in a constant number of queries.

    ``file_reports``: load each file's whole validation report (the pattern page and the API show it; cards and
    list pages do not).
    """
    file_fields = FILE_UNSHOWN_FIELDS if file_reports else (*FILE_UNSHOWN_FIELDS, "validation")
    return (
        queryset.defer(*PATTERN_UNSHOWN_FIELDS, *CREATOR_UNSHOWN_FIELDS)
        .select_related("creator", "creator__creator_profile", "category", "licence")
        .prefetch_related(
            "tags",
            # The current version's previews and files (a version under review is not shown on the listing).
            Prefetch(
                "previews",
                queryset=_current_version_only(Preview.objects.defer(*PREVIEW_UNSHOWN_FIELDS), "pattern_file__")
                .order_by("sort_order", "pattern_file_id", "position")
                .prefetch_related("renditions"),
            ),
            Prefetch(
                "files",
                queryset=_current_version_only(PatternFile.objects.defer(*file_fields), "")
                .select_related("viewer_model")
                .order_by("id"),
            ),
        )
    )


# The orders a list can be sorted in, by the name the page and the API take (``?sort=``).
SORTS = {
    "relevance": "Relevance",
    "newest": "Newest",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
    "best_selling": "Best-selling",
}
# Order states in which an order item counts as sold ("best-selling"); payments.models.Order.Status values.
SOLD_ORDER_STATUSES = ("paid", "partially_refunded")
# Full-text finding fewer matches than this is "few": typo-tolerant trigram matches are added, and the search page
# offers "did you mean" and popular patterns.
FEW_RESULTS = 3


@dataclass(frozen=True)
class PatternFilters:
    """The facets a list of published patterns can be narrowed by; empty values do not filter."""

    file_format: str = ""
    category: str = ""
    tag: str = ""
    licence: str = ""
    price_min: int | None = None
    price_max: int | None = None
    validated: bool = False
    printer_bed: str = ""
    # A creator's shop page narrows everything (results and facet counts) to their patterns.
    creator_id: int | None = None


def _flagged_file_patterns() -> QuerySet[PatternFile, Any]:
    """Ids of patterns with a file whose report has a warning or an error."""
    return PatternFile.objects.filter(
        Q(validation__findings__contains=[{"severity": "warning"}])
        | Q(validation__findings__contains=[{"severity": "error"}])
    ).values("pattern_id")


def _fits_printer_bed(printer_bed: str) -> Q:
    """Every mesh of the pattern has a printer-bed report and fits ``printer_bed``."""
    measured = PatternFile.objects.filter(validation__properties__has_key="fits_printer_beds").values("pattern_id")
    too_big = (
        PatternFile.objects.filter(validation__properties__has_key="fits_printer_beds")
        .exclude(validation__properties__fits_printer_beds__contains=[printer_bed])
        .values("pattern_id")
    )
    return Q(pk__in=measured) & ~Q(pk__in=too_big)


def _filtered(patterns: QuerySet[Pattern], filters: PatternFilters, *, without: str = "") -> QuerySet[Pattern]:
    """``patterns`` narrowed by every filter but ``without`` (a field name of ``PatternFilters``).

    Each filter is a condition on the pattern row or a subquery, never a join, so counts need no DISTINCT.
    """
    if filters.creator_id is not None:
        patterns = patterns.filter(creator_id=filters.creator_id)
    if filters.file_format and without != "file_format":
        with_format = PatternFile.objects.filter(format=filters.file_format.lower()).values("pattern_id")
        patterns = patterns.filter(pk__in=with_format)
    if filters.category and without != "category":
        patterns = patterns.filter(category__slug=filters.category)
    if filters.tag and without != "tag":
        tagged = Pattern.tags.through.objects.filter(tag__slug=filters.tag).values("pattern_id")
        patterns = patterns.filter(pk__in=tagged)
    if filters.licence and without != "licence":
        patterns = patterns.filter(licence__code=filters.licence)
    if without != "price":
        if filters.price_min is not None:
            patterns = patterns.filter(price__gte=filters.price_min)
        if filters.price_max is not None:
            patterns = patterns.filter(price__lte=filters.price_max)
    if filters.validated and without != "validated":
        patterns = patterns.exclude(pk__in=_flagged_file_patterns())
    if filters.printer_bed and without != "printer_bed":
        patterns = patterns.filter(_fits_printer_bed(filters.printer_bed))
    return patterns


def _published() -> QuerySet[Pattern]:
    return Pattern.objects.filter(status=Pattern.Status.PUBLISHED)


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
    sort: str = "",
    ranked_ids: list[int] | None = None,
    file_reports: bool = False,
    creator_id: int | None = None,
) -> QuerySet[Pattern]:
    """Published patterns with facets, ranked by hybrid relevance when ``query`` is given, newest first otherwise.

    ``validated``: every file passed every check without a warning. ``printer_bed``: every mesh fits that
    printer (a name from ``ingestion.validators.mesh.PRINTER_BEDS``). ``sort``: a key of ``SORTS``; relevance
    (the default with a query) means newest without one. The query is ranked over every published pattern and
    the filters narrow that ranking, so the facet counts of ``pattern_facets`` add up to these results.
    ``ranked_ids``: ``pattern_ranking(query=query)`` when the caller already has it (the search page's facets).
    ``file_reports``: also load the files' validation reports (the API shows them; cards do not).
    """
    filters = PatternFilters(
        file_format=file_format,
        category=category,
        tag=tag,
        licence=licence,
        price_min=price_min,
        price_max=price_max,
        validated=validated,
        printer_bed=printer_bed,
        creator_id=creator_id,
    )
    if not query.strip():
        ranked_ids = None
    elif ranked_ids is None:
        ranked_ids = pattern_ranking(query=query)
    return _sorted(_filtered(_published(), filters), ranked_ids=ranked_ids, sort=sort, file_reports=file_reports)


def pattern_ranking(*, query: str) -> list[int] | None:
    """Ids of the published patterns matching ``query``, best first; None without a query (everything matches)."""
    query = query.strip()
    if not query:
        return None
    return _hybrid_ranking(_published(), query)


def _sorted(
    patterns: QuerySet[Pattern], *, ranked_ids: list[int] | None, sort: str, file_reports: bool = False
) -> QuerySet[Pattern]:
    if ranked_ids is not None:
        if not ranked_ids:
            return _with_relations(patterns.none(), file_reports=file_reports)
        patterns = patterns.filter(pk__in=ranked_ids)
    if sort == "price_asc":
        patterns = patterns.order_by("price", "-published_at", "-id")
    elif sort == "price_desc":
        patterns = patterns.order_by("-price", "-published_at", "-id")
    elif sort == "best_selling":
        sold = Q(order_items__order__status__in=SOLD_ORDER_STATUSES, order_items__already_owned=False)
        patterns = patterns.annotate(sales=Count("order_items", filter=sold)).order_by("-sales", "-published_at", "-id")
    elif ranked_ids is not None and sort in ("", "relevance"):
        order = Case(*[When(pk=pk, then=Value(position)) for position, pk in enumerate(ranked_ids)])
        patterns = patterns.order_by(order)
    else:
        patterns = patterns.order_by("-published_at", "-id")
    return _with_relations(patterns, file_reports=file_reports)


def pattern_list_popular(*, limit: int = 8, exclude_ids: Sequence[int] = ()) -> list[Pattern]:
    """Best-selling published patterns, newest first among equals: what an empty search page offers instead."""
    return list(_sorted(_published().exclude(pk__in=list(exclude_ids)), ranked_ids=None, sort="best_selling")[:limit])


@dataclass
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool
    url: str = ""  # set by the page: the address that chooses (or drops) this option


@dataclass
class Facets:
    """Counts for the search sidebar: each option's count applies every other active filter and the query."""

    formats: list[FacetOption] = field(default_factory=list)
    categories: list[FacetOption] = field(default_factory=list)
    licences: list[FacetOption] = field(default_factory=list)
    printer_beds: list[FacetOption] = field(default_factory=list)
    tags: list[FacetOption] = field(default_factory=list)
    validated_count: int = 0


def _options(rows: Sequence[tuple[str, str, int]], selected: str) -> list[FacetOption]:
    options = [
        FacetOption(value=value, label=label, count=count, selected=value == selected) for value, label, count in rows
    ]
    if selected and not any(option.selected for option in options):
        options.insert(0, FacetOption(value=selected, label=selected, count=0, selected=True))
    return options


def pattern_facets(*, ranked_ids: list[int] | None, filters: PatternFilters, tag_limit: int = 12) -> Facets:
    """Option counts for every facet in six queries whatever the number of options (one aggregate per facet).

    ``ranked_ids``: the query's matches from ``pattern_ranking`` (None: no query). A facet's counts leave out its
    own filter, so choosing another option of it shows how many results that gives.
    """

    def base(without: str) -> QuerySet[Pattern]:
        patterns = _published()
        if ranked_ids is not None:
            patterns = patterns.filter(pk__in=ranked_ids)
        return _filtered(patterns, filters, without=without)

    format_labels = dict(PatternFile.Format.choices)
    format_rows = (
        PatternFile.objects.filter(pattern__in=base("file_format").values("pk"))
        .values("format")
        .annotate(n=Count("pattern_id", distinct=True))
        .order_by("-n", "format")
        .values_list("format", "n")
    )
    category_rows = (
        base("category")
        .filter(category__isnull=False)
        .values("category__slug", "category__name")
        .annotate(n=Count("pk"))
        .order_by("category__name")
        .values_list("category__slug", "category__name", "n")
    )
    licence_rows = (
        base("licence")
        .values("licence__code", "licence__name")
        .annotate(n=Count("pk"))
        .order_by("licence__code")
        .values_list("licence__code", "licence__name", "n")
    )
    beds = list(PRINTER_BEDS)
    bed_counts = base("printer_bed").aggregate(
        **{f"bed{i}": Count("pk", filter=_fits_printer_bed(bed)) for i, bed in enumerate(beds)}
    )
    tag_rows = (
        Tag.objects.filter(patterns__in=base("tag").values("pk"))
        .annotate(n=Count("patterns"))
        .order_by(Case(When(slug=filters.tag, then=Value(0)), default=Value(1)), "-n", "name")
        .values_list("slug", "name", "n")[:tag_limit]
    )
    return Facets(
        formats=_options(
            [(value, format_labels.get(value, value), n) for value, n in format_rows], filters.file_format.lower()
        ),
        categories=_options(list(category_rows), filters.category),
        licences=_options(list(licence_rows), filters.licence),
        printer_beds=_options(
            [(bed, bed, bed_counts[f"bed{i}"]) for i, bed in enumerate(beds) if bed_counts[f"bed{i}"]],
            filters.printer_bed,
        ),
        tags=_options(list(tag_rows), filters.tag),
        validated_count=base("validated").exclude(pk__in=_flagged_file_patterns()).count(),
    )


_PG_TRGM: dict[tuple[str, str, str], bool] = {}


def _server_has_pg_trgm() -> bool:
    """Whether the database has pg_trgm installed; asked once per database and process (migration catalog 0016
    installs it where the server offers it)."""
    settings_dict = connection.settings_dict
    key = (str(settings_dict.get("HOST")), str(settings_dict.get("PORT")), str(settings_dict.get("NAME")))
    if key not in _PG_TRGM:
        with connection.cursor() as cursor:
            _PG_TRGM[key] = typos.has_pg_trgm(cursor)
    return _PG_TRGM[key]


def search_suggestion(*, query: str) -> str:
    """ "Did you mean": ``query`` with each word the catalogue does not have replaced by the title or tag word most
    like it (trigram similarity, as pg_trgm computes it, at least ``SUGGESTION_SIMILARITY``); "" when nothing changes.

    One query (and, once per process, whether pg_trgm is installed), so call it only when a search found few
    results. With pg_trgm installed (production) it is answered through the GIN trigram indexes on titles and tag
    names; without it (the embedded PostgreSQL of tests and
    ``make run`` ships without contrib) the title and tag words are read and scored in Python, with the same result
    (catalog.typos).
    """
    words = re.findall(r"[^\W_]+", query.lower())[:MAX_SUGGESTION_WORDS]
    if not any(typos.needs_correction(word) for word in words):
        return ""
    if _server_has_pg_trgm():
        with transaction.atomic(), connection.cursor() as cursor:
            corrections = typos.sql_corrections(cursor, words)
    else:
        with connection.cursor() as cursor:
            corrections = typos.python_corrections_from(cursor, words)
    corrected = [corrections.get(word, word) for word in words]
    return " ".join(corrected) if corrected != words else ""


SUGGESTION_SIMILARITY = typos.SIMILARITY
MAX_SUGGESTION_WORDS = 8


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
# (catalog.vision.noise_reference_images): photos of patterns lead by 0.13-0.74, noise trails by 0.15-0.45.
IMAGE_FLOOR = 0.45
IMAGE_NOISE_MARGIN = 0.10
# "More like this": demo patterns of the same family are 0.27-0.93 alike (median 0.50), of different families
# 0.12-0.74 (median 0.28). A same-family neighbour needs 0.45 (above every unrelated photograph); one of another
# family must look nearly the same (0.75, above every cross-family pair of the demo catalogue).
SIMILAR_FLOOR = 0.45
SIMILAR_CROSS_FAMILY_FLOOR = 0.75
HNSW_EF_SEARCH = 100


def _full_text_ranking(patterns: QuerySet[Pattern], query: str) -> list[int]:
    search_query = SearchQuery(query, search_type="websearch", config="english")
    return list(
        patterns.filter(search_vector=search_query)
        .annotate(rank=SearchRank(F("search_vector"), search_query))
        .order_by("-rank", "-published_at", "-id")
        .values_list("id", flat=True)[:CANDIDATES]
    )


def _hybrid_ranking(patterns: QuerySet[Pattern], query: str) -> list[int]:
    """Full-text and semantic rankings fused by RRF; the ids of every pattern either ranking found."""
    lexical = _full_text_ranking(patterns, query)
    if len(lexical) < FEW_RESULTS:
        # Typo tolerance: exact full-text matches first, then those of the query with its misspelt words
        # corrected to the catalogue's title and tag words they look most like ("axolotll" → "axolotl").
        corrected = search_suggestion(query=query)
        if corrected:
            lexical += [pk for pk in _full_text_ranking(patterns, corrected) if pk not in lexical]
    semantic = [pk for pk, _ in _semantic_neighbours(patterns, query, floor=SEMANTIC_FLOOR)]
    scores: dict[int, float] = {}
    for ranking in (lexical, semantic):
        for position, pk in enumerate(dict.fromkeys(ranking)):
            scores[pk] = scores.get(pk, 0.0) + 1.0 / (RRF_K + position + 1)
    return sorted(scores, key=lambda pk: (-scores[pk], pk))


def _semantic_neighbours(patterns: QuerySet[Pattern], query: str, *, floor: float) -> list[tuple[int, float]]:
    """(id, cosine similarity) of ``patterns`` whose text embedding is at least ``floor`` like the query's."""
    try:
        from catalog.embeddings import embed_query

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


def pattern_close_ideas(
    *, query: str, limit: int = 8, exclude_ids: Sequence[int] = (), ranked_ids: list[int] | None = None
) -> list[Pattern]:
    """Published patterns semantically near ``query`` but below the match floor: "close ideas" for a search
    that found no matches. Patterns that do match (full text or above the floor) are not repeated here, nor
    ``exclude_ids``. ``ranked_ids``: ``pattern_ranking(query=query)`` when the caller already has it."""
    query = query.strip()
    if not query:
        return []
    published = Pattern.objects.filter(status=Pattern.Status.PUBLISHED)
    near = _semantic_neighbours(published, query, floor=SEMANTIC_CLOSE_FLOOR)
    matching = set(ranked_ids if ranked_ids is not None else _hybrid_ranking(published, query)) | set(exclude_ids)
    ordered = [pk for pk, similarity in near if similarity < SEMANTIC_FLOOR and pk not in matching][:limit]
    patterns = {p.pk: p for p in _with_relations(Pattern.objects.filter(pk__in=ordered), file_reports=False)}
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


def preview_rendition_get_visible(*, user: Any, rendition_id: int) -> PreviewRendition | None:
    """A preview rendition whose pattern ``user`` may see, else None."""
    visible = pattern_visible_to(user=user).values("pk")
    return PreviewRendition.objects.filter(pk=rendition_id, preview__pattern__in=visible).first()


def viewer_model_get_visible(*, user: Any, viewer_model_id: int) -> ViewerModel | None:
    """A viewer mesh whose pattern ``user`` may see, else None."""
    visible = pattern_visible_to(user=user).values("pk")
    return ViewerModel.objects.filter(pk=viewer_model_id, pattern_file__pattern__in=visible).first()


def pattern_list_for_creator(*, creator: Any) -> QuerySet[Pattern]:
    """The creator's own patterns in any state but deleted (a soft-deleted pattern leaves their dashboard)."""
    patterns = Pattern.objects.filter(creator=creator).exclude(status=Pattern.Status.DELETED)
    return _with_relations(patterns.order_by("-created_at"))


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
    from catalog.vision import image_embeddings, noise_reference_embeddings

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


def pattern_list_for_sitemap() -> QuerySet[Pattern]:
    """Published patterns with only what a sitemap entry needs (slug and last change), oldest first."""
    return Pattern.objects.filter(status=Pattern.Status.PUBLISHED).only("slug", "updated_at").order_by("pk")


def licence_list(*, codes: Sequence[str] | None = None) -> QuerySet[Licence]:
    """The licences patterns can be offered under (all, or only ``codes``), open licences first."""
    licences = Licence.objects.order_by("requires_payment", "code")
    return licences if codes is None else licences.filter(code__in=list(codes))


def pattern_titles(*, pattern_ids: Sequence[int]) -> dict[int, str]:
    """Pattern id → title, for messages that name patterns (outgoing webhooks)."""
    return dict(Pattern.objects.filter(pk__in=list(pattern_ids)).values_list("pk", "title"))


# --- Versions (issue 12) ---


def pattern_files_available(*, pattern_id: int) -> QuerySet[PatternFile]:
    """The valid files a buyer may have: version 1 (the original upload) and every published later version."""
    return (
        PatternFile.objects.filter(pattern_id=pattern_id, status=PatternFile.Status.VALID)
        .filter(Q(version__isnull=True) | Q(version__number=1) | Q(version__status=PatternVersion.Status.PUBLISHED))
        .select_related("version")
        .order_by("pk")
    )


def pattern_current_version_number(*, pattern_id: int) -> int:
    """The pattern's current version: its latest published one (version 1 when no later one is published)."""
    latest = (
        PatternVersion.objects.filter(pattern_id=pattern_id, number__gt=1, status=PatternVersion.Status.PUBLISHED)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return latest or 1


def pattern_files_current(*, pattern_id: int) -> QuerySet[PatternFile]:
    """The valid files of the pattern's current version (what new buyers, the page and previews use)."""
    files = PatternFile.objects.filter(pattern_id=pattern_id, status=PatternFile.Status.VALID)
    return _current_version_only(files, "").order_by("pk")


def pattern_versions_visible(*, pattern: Pattern, user: Any) -> QuerySet[PatternVersion]:
    """The versions of a pattern ``user`` may see: the published ones, or all for its creator and staff."""
    versions = PatternVersion.objects.filter(pattern=pattern).prefetch_related("files").order_by("number")
    if pattern.creator_id == getattr(user, "pk", None) or staff_has_perm(user, *VIEW_PATTERNS):
        return versions
    return versions.filter(Q(number=1) | Q(status=PatternVersion.Status.PUBLISHED))


def pattern_versions_published(*, pattern_id: int) -> QuerySet[PatternVersion]:
    """What a buyer of the pattern has: version 1 and every published later version, oldest first."""
    return (
        PatternVersion.objects.filter(pattern_id=pattern_id)
        .filter(Q(number=1) | Q(status=PatternVersion.Status.PUBLISHED))
        .order_by("number")
    )


# --- Shops (issue 12, h/shops) ---

SALES_BANDS = (1000, 500, 100, 50, 10, 1)


def sales_band(count: int) -> str:
    """A public, rounded sales figure: "10+ sales"; empty below one sale (no exact numbers leak)."""
    for floor in SALES_BANDS:
        if count >= floor:
            return f"{floor}+ sale{'s' if floor > 1 else ''}"
    return ""


def creator_profile_for_shop(*, username: str) -> Any:
    """The creator's profile by username (case-insensitive) for their shop page, or None (no such creator)."""
    return CreatorProfile.objects.select_related("user").filter(user__username__iexact=username).first()


def shop_rating(*, creator_id: int) -> dict[str, object]:
    """The creator's rating over the visible reviews of their published patterns, ``{"average": 4.33, "count": 12}``
    (each pattern's average weighted by its review count, to two decimals like a pattern's rating), and
    ``{"average": None, "count": 0}`` when there are none (the pattern API's shape). Computed
    from the figures community stores on each pattern (``pattern_community_counts_set``), so catalog needs no
    import of community and the shop costs one aggregate query."""
    figures = Pattern.objects.filter(
        creator_id=creator_id, status=Pattern.Status.PUBLISHED, rating_count__gt=0, rating_average__isnull=False
    ).aggregate(
        total=Sum(F("rating_average") * F("rating_count"), output_field=FloatField()),
        count=Sum("rating_count"),
    )
    count = int(figures["count"] or 0)
    if not count:
        return {"average": None, "count": 0}
    return {"average": round(float(figures["total"]) / count, 2), "count": count}


# --- Edit page (issue 12, h/studio) ---


def pattern_previews_for_ordering(*, pattern_id: int) -> list[Preview]:
    """Every preview of a pattern in its current order (the cover first), as ``pattern_previews_order`` takes them."""
    return list(Preview.objects.filter(pattern_id=pattern_id).order_by("sort_order", "pattern_file_id", "position"))


def pattern_creator_tag_names(*, pattern_id: int) -> list[str]:
    """The tags the creator set on a pattern (not the tagger's), by name."""
    return list(
        TagSuggestion.objects.filter(pattern_id=pattern_id, source=TagSuggestion.Source.CREATOR)
        .order_by("tag__name")
        .values_list("tag__name", flat=True)
    )


# --- Provenance (issue 14, h/provenance) ---


def pattern_version_originals(*, pattern_id: int, number: int) -> dict[str, Any] | None:
    """What the authorship log states about version ``number`` of a pattern: its creator and each original file
    as uploaded (name, sha256, size; the hashes are of the originals, never of a watermarked copy). None when the
    pattern or the version is gone."""
    version = (
        PatternVersion.objects.select_related("pattern__creator")
        .filter(pattern_id=pattern_id, number=number)
        .only("pk", "pattern__id", "pattern__creator__id", "pattern__creator__username")
        .first()
    )
    if version is None:
        return None
    creator = version.pattern.creator
    files = list(PatternFile.objects.filter(version=version).order_by("pk").values("original_name", "sha256", "size"))
    return {
        "creator_id": creator.pk,
        "creator_username": creator.username,
        "files": [{"name": f["original_name"], "sha256": f["sha256"], "size": f["size"]} for f in files],
    }


def pattern_versions_submitted(*, after_id: int = 0, limit: int = 500) -> list[dict[str, Any]]:
    """Every pattern version ever submitted, oldest first (``{"id", "pattern_id", "number", "created_at"}``), in
    pages by id: what the authorship log's backfill appends for versions uploaded before the log existed."""
    rows = (
        PatternVersion.objects.filter(pk__gt=after_id).order_by("pk").values("id", "pattern_id", "number", "created_at")
    )
    return [dict(row) for row in rows[:limit]]


# --- Recommendations (issue 13, h/recs): what analytics' recommenders read of the catalogue ---


def pattern_cards(*, pattern_ids: Sequence[int], file_reports: bool = False) -> list[Pattern]:
    """The published patterns of ``pattern_ids`` with what a card (or, with ``file_reports``, the list API) shows,
    in the order of ``pattern_ids``; unpublished, deleted and unknown ids are left out. Five queries however many."""
    ids = list(dict.fromkeys(pattern_ids))
    if not ids:
        return []
    found = {p.pk: p for p in _with_relations(_published().filter(pk__in=ids), file_reports=file_reports)}
    return [found[pk] for pk in ids if pk in found]


def pattern_families(*, pattern_ids: Sequence[int]) -> dict[int, set[str]]:
    """Each pattern's file families (mesh, vector, document, image, bundle), from its files' formats."""
    return _pattern_families(list(pattern_ids))


def pattern_published_profiles() -> list[tuple[int, int, Any]]:
    """(id, creator id, text embedding or None) of every published pattern, by id."""
    return list(
        _published().order_by("pk").values_list("pk", "creator_id", "text_embedding")  # type: ignore[arg-type]
    )


def pattern_subject_tag_pairs() -> list[tuple[int, int]]:
    """(pattern id, tag id) of the subject tags of published patterns (attributes are not what a project shares)."""
    return list(
        Pattern.tags.through.objects.filter(
            pattern__status=Pattern.Status.PUBLISHED, tag__kind=Tag.Kind.SUBJECT
        ).values_list("pattern_id", "tag_id")
    )


def pattern_look_neighbours(*, pattern_id: int, limit: int = 50) -> list[tuple[int, float]]:
    """(id, cosine similarity) of the published patterns whose previews look most like this one's (the mean of
    its preview embeddings, as "more like this" compares them), best first; empty without previews."""
    import numpy as np

    vectors = [
        np.asarray(v)
        for v in Preview.objects.filter(pattern_id=pattern_id)
        .exclude(embedding=None)
        .values_list("embedding", flat=True)
    ]
    if not vectors:
        return []
    mean = np.mean(vectors, axis=0)
    mean = mean / (np.linalg.norm(mean) or 1.0)
    return _rank_patterns_by_previews(mean, exclude_pattern_id=pattern_id, limit=limit)


# --- Repeat-infringer policy (issue 14, h/trust) ---


def creator_selling_suspended(*, user_id: int | None) -> bool:
    """Whether the creator's selling is suspended (trust's repeat-infringer policy)."""
    if user_id is None:
        return False
    return CreatorProfile.objects.filter(user_id=user_id, selling_suspended_at__isnull=False).exists()
