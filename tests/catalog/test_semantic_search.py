"""Hybrid search with the real MiniLM model: words a pattern never contains still find it."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.models import Event
from analytics.services import events_drain
from catalog import selectors
from catalog.models import Category, Pattern
from ingestion import services
from tests.factories import PatternFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue() -> dict[str, Pattern]:
    sewing = Category.objects.get(slug="sewing-knitting")
    laser = Category.objects.get(slug="laser-cnc")
    surface = Category.objects.get(slug="surface-patterns")
    patterns = {
        "apron": PatternFactory.create(
            title="Kitchen apron", description="A full-length kitchen apron with a neck strap.", category=sewing
        ),
        "gear": PatternFactory.create(
            title="16-tooth laser gear",
            description="A 100 mm gear with a 12 mm bore for kinetic sculptures.",
            category=laser,
        ),
        "dots": PatternFactory.create(
            title="Mint polka dots", description="Soft mint polka dots on white.", category=surface
        ),
        "cube": PatternFactory.create(title="Calibration cube 20 mm", description="Tune steps and flow."),
    }
    for pattern in patterns.values():
        services.pattern_embed_text(pattern_id=pattern.pk)
    return patterns


def test_embedding_is_stored_normalised_and_idempotent(catalogue: dict[str, Pattern]) -> None:
    apron = Pattern.objects.get(pk=catalogue["apron"].pk)
    vector = np.asarray(apron.text_embedding)
    assert vector.shape == (384,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4
    services.pattern_embed_text(pattern_id=apron.pk)
    again = np.asarray(Pattern.objects.get(pk=apron.pk).text_embedding)
    assert np.allclose(vector, again, atol=1e-6)


@pytest.mark.parametrize(
    ("query", "expected"),
    # Queries that share no word with their pattern and clear the calibrated floor (bench/calibrate_floors.py).
    [("cooking garment", "apron"), ("cogwheel", "gear"), ("spotted fabric", "dots")],
)
def test_semantic_query_finds_patterns_by_meaning(
    catalogue: dict[str, Pattern], api_client, query: str, expected: str
) -> None:  # type: ignore[no-untyped-def]
    found = list(selectors.pattern_list_published(query=query))
    assert found[0] == catalogue[expected]
    results = api_client.get("/api/v1/patterns/", {"q": query}).json()["results"]
    assert results[0]["id"] == catalogue[expected].pk


def test_exact_words_still_rank_first_and_unrelated_queries_find_nothing(
    catalogue: dict[str, Pattern], api_client
) -> None:  # type: ignore[no-untyped-def]
    assert list(selectors.pattern_list_published(query="calibration"))[0] == catalogue["cube"]
    assert list(selectors.pattern_list_published(query="xyzzy")) == []
    response = api_client.get("/api/v1/patterns/", {"q": "submarine periscope"})
    assert response.json()["count"] == 0
    events_drain()  # as the beat task does every few seconds
    event = Event.objects.get(kind="search")
    assert (event.query, event.result_count) == ("submarine periscope", 0)


def test_filters_apply_to_semantic_results(catalogue: dict[str, Pattern]) -> None:
    assert list(selectors.pattern_list_published(query="cooking garment", category="laser-cnc")) == []
    assert list(selectors.pattern_list_published(query="cogwheel", file_format="stl"))[0] == catalogue["gear"]


@pytest.mark.parametrize(("query", "expected"), [("cog wheel", "gear"), ("spotty wallpaper", "dots")])
def test_weak_semantic_neighbours_are_close_ideas_not_matches(
    catalogue: dict[str, Pattern], query: str, expected: str
) -> None:
    # 0.30 and 0.31 alike: below the match floor (0.32), above the close-ideas floor (0.22).
    assert list(selectors.pattern_list_published(query=query)) == []
    assert selectors.pattern_close_ideas(query=query) == [catalogue[expected]]
