"""Catalogue pages and the API list: an exact number of queries, the same for 2 results as for 10, and list
queries that leave out the columns no list shows (embedding vectors, validation reports)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import CreatorProfile, Pattern, Preview, Tag
from tests.factories import PatternFactory, UserFactory

pytestmark = pytest.mark.django_db

# Per page: (anonymous, signed in), with the page cache off (as in every test but tests/marketplace/
# test_page_cache.py). Signed in adds the user (the session comes from Redis), and on the pattern page the
# entitlement check. No page writes its analytics event (page views and searches are buffered in Redis). Each list
# of patterns: the patterns, and one query each for their tags, previews, preview renditions and files. Home adds
# categories and popular tags; search and category pages the count and five facet counts (search also the full-text
# and semantic ranking in a savepoint); the pattern page "more like this" (the nearest previews and file shapes, with
# their formats, then a second list), the licence cards and its published versions (the "Versions" section), and
# the number of collections holding it (outside the cached fragments); signed in, also whether it is a favourite
# and the visitor's collections (each marked whether it holds the pattern).
# Recommendations (issue 13, analytics' template tags) read their precomputed rows in one query, here empty (no
# recompute ran), so no cards: the pattern page one more, home signed in two more ("for you": the buyer's signals,
# the rows). With rows, each adds the five queries of one card list however many (tests/analytics/
# test_recommendations.py).
EXPECTED_QUERIES = {
    "home": (7, 10),
    "search": (17, 18),
    "category": (13, 14),
    "pattern": (19, 23),
    "api_list": (6, 7),
}


def _catalogue(count: int) -> Pattern:
    """``count`` published patterns with a creator profile, two previews and two tags each; returns the first."""
    first = None
    for index in range(count):
        creator = UserFactory.create()
        CreatorProfile.objects.create(user=creator, display_name=f"Maker {index}")
        pattern = PatternFactory.create(title=f"Hexagon lamp {index}", creator=creator)
        pattern_file = pattern.files.get()
        for position in range(2):
            Preview.objects.create(
                pattern=pattern,
                pattern_file=pattern_file,
                image=f"previews/test/{pattern.pk}-{position}.png",
                position=position,
                width=800,
                height=800,
                embedding=[0.01] * 1280,
            )
        tags = [Tag.objects.get_or_create(name=name, slug=name)[0] for name in (f"tag-{index}", "lamp")]
        pattern.tags.add(*tags)
        pattern.text_embedding = [0.02] * 384
        pattern.save(update_fields=["text_embedding"])
        first = first or pattern
    assert first is not None
    return first


def _url(page: str, pattern: Pattern) -> str:
    return {
        "home": "/",
        "search": "/search/?q=hexagon",
        "category": "/c/3d-printing/",
        "pattern": pattern.get_absolute_url(),
        "api_list": "/api/v1/patterns/",
    }[page]


def _queries(client: Client, url: str) -> list[str]:
    client.get(url)  # loads the text model and fills per-process caches (ContentTypes, site)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("page", list(EXPECTED_QUERIES))
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_page_query_count_is_exact_and_constant(
    page: str, signed_in: bool, django_assert_num_queries: Callable[..., object]
) -> None:
    first = _catalogue(3)  # enough not to be a weak search (selectors.FEW_RESULTS), which adds close ideas
    client = Client()
    if signed_in:
        client.force_login(UserFactory.create())
    url = _url(page, first)
    expected = EXPECTED_QUERIES[page][1 if signed_in else 0]
    small = len(_queries(client, url))
    _catalogue(8)
    large = len(_queries(client, url))
    assert (small, large) == (expected, expected)


def _selected_columns(queries: list[str]) -> str:
    """The SELECT lists of ``queries`` (search also filters and orders by the embedding, which is fine)."""
    return " ".join(sql.split(" FROM ", 1)[0] for sql in queries)


VECTOR_COLUMNS = ("text_embedding", "search_vector", "embedding", "shape_descriptor", "image_hash")


@pytest.mark.parametrize("page", ["home", "search", "category"])
def test_list_pages_load_no_vectors_and_no_validation_reports(page: str) -> None:
    first = _catalogue(3)
    selected = _selected_columns(_queries(Client(), _url(page, first)))
    for column in VECTOR_COLUMNS:
        # As a column; search's semantic ranking selects only a distance computed from the vector.
        assert not re.search(rf'\."{column}"(?!\s*<=>)', selected), column
    assert '"catalog_patternfile"."validation"' not in selected


def test_api_list_loads_the_reports_it_shows_but_no_vectors() -> None:
    first = _catalogue(2)
    selected = _selected_columns(_queries(Client(), _url("api_list", first)))
    assert '"catalog_patternfile"."validation"' in selected
    for column in VECTOR_COLUMNS:
        # As a column; search's semantic ranking selects only a distance computed from the vector.
        assert not re.search(rf'\."{column}"(?!\s*<=>)', selected), column
