"""The search page can be steered: facets with exact counts, chips that drop one filter, sorts, typo tolerance,
and a weak-result page that is never a dead end (issue 10)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import Event
from analytics.services import events_drain
from catalog import selectors
from catalog.models import Category, Licence, Pattern, PatternFile
from catalog.services import pattern_tags_add
from marketplace.events.services import outbox_drain
from tests import samples
from tests.factories import OrderFactory, PatternFactory, add_file, order_item_add

pytestmark = pytest.mark.django_db

MK4 = "Prusa MK4 (250×210×220)"


@pytest.fixture
def shop() -> dict[str, Pattern]:
    """Five published patterns (and one in review) with known formats, categories, licences, prices and tags."""
    now = timezone.now()
    laser = Category.objects.get(slug="laser-cnc")
    cc0 = Licence.objects.get(code="cc0")
    commercial = Licence.objects.get(code="commercial")
    shop = {
        "axolotl": PatternFactory.create(title="Axolotl planter", price=500, published_at=now - timedelta(days=5)),
        "pot": PatternFactory.create(title="Flower pot", price=0, licence=cc0, published_at=now - timedelta(days=4)),
        "garland": PatternFactory.create(
            title="Rose garland", price=300, category=laser, with_file=False, published_at=now - timedelta(days=3)
        ),
        "cube": PatternFactory.create(
            title="Calibration cube", price=900, licence=commercial, published_at=now - timedelta(days=2)
        ),
        "lamp": PatternFactory.create(title="Moon lamp", price=1200, published_at=now - timedelta(days=1)),
    }
    PatternFactory.create(title="Flower vase", status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    add_file(shop["garland"], name="garland.svg", content=samples.svg_square(), file_format="svg")
    pattern_tags_add(pattern=shop["pot"], names=["flowers", "garden"])
    pattern_tags_add(pattern=shop["garland"], names=["flowers"])
    pattern_tags_add(pattern=shop["axolotl"], names=["garden"])
    PatternFile.objects.filter(pattern=shop["garland"]).update(
        validation={"findings": [{"severity": "warning", "code": "x", "message": "x", "details": {}}]}
    )
    PatternFile.objects.filter(pattern=shop["cube"]).update(
        validation={"findings": [], "properties": {"fits_printer_beds": [MK4]}}
    )
    PatternFile.objects.filter(pattern=shop["lamp"]).update(
        validation={"findings": [], "properties": {"fits_printer_beds": []}}
    )
    return shop


def counts(options: list[selectors.FacetOption]) -> dict[str, int]:
    return {option.value: option.count for option in options}


def titles(response: Any) -> list[str]:
    return [pattern.title for pattern in response.context["page"]]


def params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_facet_counts_are_exact_and_leave_out_their_own_filter(client, shop) -> None:  # type: ignore[no-untyped-def]
    facets = client.get("/search/").context["facets"]
    assert counts(facets.formats) == {"stl": 4, "svg": 1}
    assert counts(facets.categories) == {"3d-printing": 4, "laser-cnc": 1}
    assert counts(facets.licences) == {"cc0": 1, "commercial": 1, "personal": 3}
    assert counts(facets.tags) == {"flowers": 2, "garden": 2}
    assert counts(facets.printer_beds) == {MK4: 1}
    assert facets.validated_count == 4

    response = client.get("/search/", {"format": "stl", "tag": "flowers"})
    assert titles(response) == ["Flower pot"]
    facets = response.context["facets"]
    assert counts(facets.formats) == {"stl": 1, "svg": 1}  # with the tag, without the format
    assert counts(facets.tags) == {"flowers": 1, "garden": 2}  # with the format, without the tag
    assert counts(facets.categories) == {"3d-printing": 1}
    assert facets.validated_count == 1
    assert [option.value for option in facets.formats if option.selected] == ["stl"]

    response = client.get("/search/", {"q": "flower"})  # the query narrows every count
    facets = response.context["facets"]
    assert sorted(titles(response)) == ["Flower pot", "Rose garland"]
    assert counts(facets.formats) == {"stl": 1, "svg": 1}
    assert counts(facets.categories) == {"3d-printing": 1, "laser-cnc": 1}


def test_facet_counts_take_a_bounded_number_of_queries(shop) -> None:
    with CaptureQueriesContext(connection) as queries:
        selectors.pattern_facets(ranked_ids=None, filters=selectors.PatternFilters(tag="flowers"))
    assert len(queries) == 6  # one aggregate per facet, whatever the number of options


def test_changing_one_filter_keeps_the_others_and_each_chip_removes_exactly_one(client, shop) -> None:  # type: ignore[no-untyped-def]
    query = {"q": "flower", "format": "stl", "tag": "flowers", "price_max": "5", "validated": "1", "page": "1"}
    response = client.get("/search/", query)
    assert titles(response) == ["Flower pot"]
    kept = {key: [value] for key, value in query.items() if key != "page"}
    chips = {chip["name"]: params(chip["url"]) for chip in response.context["chips"]}
    assert set(chips) == {"Format", "Tag", "Price", "Checks"}
    assert chips["Format"] == {k: v for k, v in kept.items() if k != "format"}
    assert chips["Tag"] == {k: v for k, v in kept.items() if k != "tag"}
    assert chips["Price"] == {k: v for k, v in kept.items() if k != "price_max"}
    assert chips["Checks"] == {k: v for k, v in kept.items() if k != "validated"}
    # Choosing another option keeps the query and every other filter (the old Format dropdown dropped the tag);
    # the chosen option's link drops that filter only.
    garden = next(option for option in response.context["facets"].tags if option.value == "garden")
    assert params(garden.url) == {**kept, "tag": ["garden"]}
    stl = next(option for option in response.context["facets"].formats if option.value == "stl")
    assert stl.selected
    assert params(stl.url) == chips["Format"]
    no_tag = client.get("/search/", {"format": "svg", "tag": "flowers"})
    svg = next(option for option in no_tag.context["facets"].formats if option.value == "svg")
    stl = next(option for option in no_tag.context["facets"].formats if option.value == "stl")
    assert params(stl.url) == {"format": ["stl"], "tag": ["flowers"]}
    assert svg.selected
    assert params(svg.url) == {"tag": ["flowers"]}
    html = response.content.decode()
    assert '<label for="sort">Sort by</label>' in html
    assert '<label for="price-min">Min price</label>' in html
    assert '<input type="hidden" name="tag" value="flowers">' in html  # the sort form keeps the filters
    tag_chip = next(chip for chip in response.context["chips"] if chip["name"] == "Tag")
    assert titles(client.get("/search/" + tag_chip["url"])) == ["Flower pot"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("newest", ["Moon lamp", "Calibration cube", "Rose garland", "Flower pot", "Axolotl planter"]),
        ("price_asc", ["Flower pot", "Rose garland", "Axolotl planter", "Calibration cube", "Moon lamp"]),
        ("price_desc", ["Moon lamp", "Calibration cube", "Axolotl planter", "Rose garland", "Flower pot"]),
        ("best_selling", ["Calibration cube", "Axolotl planter", "Moon lamp", "Rose garland", "Flower pot"]),
    ],
)
def test_sort_orders(client, api_client, shop, sort, expected) -> None:  # type: ignore[no-untyped-def]
    from payments.models import Order

    for pattern, times in [("cube", 2), ("axolotl", 1)]:
        for _ in range(times):
            order = OrderFactory.create(status=Order.Status.PAID)
            order_item_add(order=order, pattern=shop[pattern])
    unpaid = OrderFactory.create(status=Order.Status.PENDING)  # neither a pending order ...
    order_item_add(order=unpaid, pattern=shop["lamp"])
    refunded = OrderFactory.create(status=Order.Status.REFUNDED)  # ... nor a refunded one is a sale
    order_item_add(order=refunded, pattern=shop["lamp"])
    assert titles(client.get("/search/", {"sort": sort})) == expected
    api = api_client.get("/api/v1/patterns/", {"sort": sort}).json()
    assert [row["title"] for row in api["results"]] == expected
    assert titles(client.get(f"/c/{shop['cube'].category.slug}/", {"sort": sort})) == [
        title for title in expected if title != "Rose garland"
    ]


def test_relevance_is_the_default_with_a_query_and_sorts_apply_to_matches(client, shop) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/search/", {"q": "flower"})
    assert response.context["sort"] == "relevance"
    assert titles(response) == ["Flower pot", "Rose garland"]  # title match above tag match
    assert titles(client.get("/search/", {"q": "flower", "sort": "price_desc"})) == ["Rose garland", "Flower pot"]
    assert client.get("/search/").context["sort"] == "newest"
    assert client.get("/api/v1/patterns/", {"sort": "cheapest"}).status_code == 400


def test_a_typo_still_finds_the_pattern_and_offers_did_you_mean(client, api_client, shop) -> None:  # type: ignore[no-untyped-def]
    assert [p.title for p in selectors.pattern_list_published(query="axolotll planter")] == ["Axolotl planter"]
    assert [p.title for p in selectors.pattern_list_published(query="flowr")] == ["Flower pot", "Rose garland"]
    api = api_client.get("/api/v1/patterns/", {"q": "axolotll planter"}).json()
    assert [row["title"] for row in api["results"]] == ["Axolotl planter"]

    response = client.get("/search/", {"q": "axolotll planter"})
    assert titles(response) == ["Axolotl planter"]
    assert response.context["suggestion"] == "axolotl planter"
    assert 'Did you mean: <a href="?q=axolotl+planter">axolotl planter</a>?' in response.content.decode()
    assert client.get("/search/", {"q": "flowr"}).context["suggestion"] == "flower"

    nonsense = client.get("/search/", {"q": "qzxvwk jjyyq"})
    assert titles(nonsense) == []
    assert nonsense.context["suggestion"] == ""
    assert selectors.search_suggestion(query="moon lamp") == ""  # known words are never "corrected"


def test_a_weak_search_is_never_a_dead_end(client, shop) -> None:  # type: ignore[no-untyped-def]
    from payments.models import Order

    order = OrderFactory.create(status=Order.Status.PAID)
    order_item_add(order=order, pattern=shop["lamp"])
    response = client.get("/search/", {"q": "submarine"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "No exact matches for “submarine”" in html
    # Popular: best-selling first, then newest.
    assert [p.title for p in response.context["popular"]][:3] == ["Moon lamp", "Calibration cube", "Rose garland"]
    assert '<h2 id="popular-title">Popular patterns</h2>' in html
    assert 'action="/search/request/"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="id_wanted">Tell us what you wanted</label>' in html
    events_drain()  # as the beat task does every few seconds
    event = Event.objects.get(kind="search")
    assert (event.query, event.result_count, event.metadata["low_results"]) == ("submarine", 0, True)
    # Plenty of results: none of it.
    browse = client.get("/search/")
    assert len(titles(browse)) == 5
    assert browse.context["popular"] == []
    assert "Popular patterns" not in browse.content.decode()


def _post(client: Any, data: dict[str, str], address: str) -> Any:
    return client.post("/search/request/", data, REMOTE_ADDR=address)


def test_tell_us_what_you_wanted_is_recorded_throttled_and_checked(client, settings) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    settings.TESSERA_SEARCH_REQUEST_RATE = 2
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    response = _post(client, {"q": "submarine", "wanted": "A 1:350 U-boat, printable in two halves"}, address)
    assert response.status_code == 302
    assert response["Location"] == "/search/?q=submarine"
    outbox_drain()  # as the events queue does after commit
    event = Event.objects.get(kind="search_request")
    assert (event.query, event.metadata, event.user) == (
        "submarine",
        {"wanted": "A 1:350 U-boat, printable in two halves"},
        None,
    )
    assert _post(client, {"q": "", "wanted": ""}, address).status_code == 400  # nothing to record
    assert _post(client, {"q": "x", "wanted": "bad\x1b[2J"}, address).status_code == 400
    assert _post(client, {"q": "tank"}, address).status_code == 302
    throttled = _post(client, {"q": "plane"}, address)
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    outbox_drain()
    assert list(Event.objects.filter(kind="search_request").values_list("query", flat=True).order_by("id")) == [
        "submarine",
        "tank",
    ]
    csrf_client = Client(enforce_csrf_checks=True)
    assert csrf_client.post("/search/request/", {"q": "boat"}, REMOTE_ADDR="10.0.0.1").status_code == 403
    assert client.get("/search/request/").status_code == 405
    assert Event.objects.filter(kind="search_request").count() == 2


@pytest.mark.parametrize(
    "params",
    [{}, {"format": "stl", "tag": "bulk"}, {"q": "lamp"}, {"q": "lamp", "sort": "best_selling"}],
    ids=["browse", "filtered", "query", "query-best-selling"],
)
def test_the_search_page_runs_the_same_queries_for_3_and_10_results(client, params) -> None:  # type: ignore[no-untyped-def]
    # 3, not 2: under FEW_RESULTS (3) a query page adds did-you-mean and popular patterns (a fixed number too).
    def run(total: int) -> int:
        while Pattern.objects.count() < total:
            pattern = PatternFactory.create(title=f"Lamp {Pattern.objects.count()}")
            pattern_tags_add(pattern=pattern, names=["bulk", f"own-{pattern.pk}"])
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/search/", params)
        assert len(response.context["page"]) == total
        return len(queries)

    assert run(3) == run(10)
