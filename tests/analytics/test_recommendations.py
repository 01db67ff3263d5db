"""Issue 13, recommendations: bought together (lift), also viewed (sessions), complete the project (other families),
for you and the cart (never what the buyer holds, their own, or the cart), served from the precomputed table."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import Event, Recommendation
from analytics.recommendations import selectors
from analytics.recommendations.services import recommendations_recompute
from catalog.api.serializers import PatternSerializer
from catalog.models import Pattern, Preview, Tag, User
from community.models import Favourite
from payments.models import Order
from tests.factories import PatternFactory, UserFactory, add_file, order_item_add, paid_entitlement

pytestmark = pytest.mark.django_db

# The planted log: (patterns in the order, how many such orders). 23 orders; A is in 9, B 5, C 4, P 16, D 2.
# Lifts: A-B 3·23/(9·5) = 1.5333, A-C 2·23/(9·4) = 1.2778, A-P 4·23/(9·16) = 0.6389 (P, in 16 of 23 orders, is
# bought with A more often than B is, but less often than chance), B-P 0.575, C-D 2·23/(4·2) = 5.75.
PLANTED = [("AB", 3), ("AC", 2), ("AP", 4), ("BP", 2), ("P", 10), ("CD", 2)]


def _order(buyer: User, patterns: list[Pattern], *, status: str = Order.Status.PAID) -> Order:
    order = Order.objects.create(
        buyer=buyer, amount=sum(p.price for p in patterns), currency="USD", status=status, paid_at=timezone.now()
    )
    for pattern in patterns:
        order_item_add(order=order, pattern=pattern)
    return order


@pytest.fixture
def planted() -> dict[str, Pattern]:
    patterns = {name: PatternFactory.create(title=f"Pattern {name}") for name in "ABCDP"}
    buyer = UserFactory.create()
    for names, count in PLANTED:
        for _ in range(count):
            _order(buyer, [patterns[name] for name in names])
    # Not paid: never counted.
    for _ in range(5):
        _order(buyer, [patterns["B"], patterns["D"]], status=Order.Status.PENDING)
    return patterns


def _rows(kind: str, source: Pattern) -> list[tuple[int, float, int]]:
    return list(
        Recommendation.objects.filter(kind=kind, source=source)
        .order_by("rank")
        .values_list("target_id", "score", "support")
    )


def test_patterns_bought_together_recommend_each_other_by_lift_not_popularity(planted: dict[str, Pattern]) -> None:
    a, b, c, d, p = (planted[name] for name in "ABCDP")
    stats = recommendations_recompute()
    assert (stats["orders"], stats["bought_together"]) == (23, 6)
    kind = Recommendation.Kind.BOUGHT_TOGETHER
    assert _rows(kind, a) == [(b.pk, 1.533333, 3), (c.pk, 1.277778, 2)]  # P (4 orders with A) is not there
    assert _rows(kind, b) == [(a.pk, 1.533333, 3)]
    assert _rows(kind, c) == [(d.pk, 5.75, 2), (a.pk, 1.277778, 2)]
    assert _rows(kind, d) == [(c.pk, 5.75, 2)]
    assert _rows(kind, p) == []  # bought with everything, with nothing more than chance
    # Popularity (the cold-start fallback) is led by P: sales of the last 30 days.
    popular = list(Recommendation.objects.filter(kind="popular").order_by("rank").values_list("target_id", "score"))
    assert popular[:3] == [(p.pk, 16.0), (a.pk, 9.0), (b.pk, 5.0)]


def test_a_second_recompute_leaves_the_same_rows() -> None:
    patterns = [PatternFactory.create() for _ in range(3)]
    buyer = UserFactory.create()
    for _ in range(2):
        _order(buyer, patterns[:2])
    _order(buyer, [patterns[2]])

    def table() -> list[tuple[Any, ...]]:
        return sorted(Recommendation.objects.values_list("kind", "source_id", "target_id", "score", "support", "rank"))

    recommendations_recompute()
    first = table()
    recommendations_recompute()
    assert table() == first
    assert (patterns[0].pk, patterns[1].pk) in {(s, t) for k, s, t, *_ in first if k == "bought_together"}


def test_bought_together_api_shape_and_visibility(client: Client, planted: dict[str, Pattern]) -> None:
    a, b, c = planted["A"], planted["B"], planted["C"]
    recommendations_recompute()
    response = client.get(f"/api/v1/patterns/{a.pk}/bought-together/")
    assert response.status_code == 200
    body = response.json()
    assert [(row["pattern"]["id"], row["score"]) for row in body] == [(b.pk, 1.5333), (c.pk, 1.2778)]
    assert [set(row) for row in body] == [{"pattern", "score"}] * 2
    assert set(body[0]["pattern"]) == set(PatternSerializer.Meta.fields)
    assert body[0]["pattern"] == PatternSerializer(b, context={"request": response.wsgi_request}).data
    # Unpublished or deleted since the recompute: gone at once, before the next recompute.
    Pattern.objects.filter(pk=b.pk).update(status=Pattern.Status.UNPUBLISHED)
    Pattern.objects.filter(pk=c.pk).update(status=Pattern.Status.DELETED)
    assert client.get(f"/api/v1/patterns/{a.pk}/bought-together/").json() == []
    # A pattern the caller may not see: 404; its creator sees it and what was bought with it.
    assert client.get(f"/api/v1/patterns/{b.pk}/bought-together/").status_code == 404
    assert client.get("/api/v1/patterns/999999/bought-together/").status_code == 404
    owner = Client()
    owner.force_login(b.creator)
    assert [row["pattern"]["id"] for row in owner.get(f"/api/v1/patterns/{b.pk}/bought-together/").json()] == [a.pk]
    # The next recompute writes no row for them at all.
    recommendations_recompute()
    hidden = [b.pk, c.pk]
    assert not Recommendation.objects.filter(source_id__in=hidden).exists()
    assert not Recommendation.objects.filter(target_id__in=hidden).exists()


def test_the_pattern_page_shows_bought_together_and_falls_back_to_popular(planted: dict[str, Pattern]) -> None:
    a, b, c, p = planted["A"], planted["B"], planted["C"], planted["P"]
    recommendations_recompute()
    page = Client().get(a.get_absolute_url()).content.decode()
    assert _section_titles(page, "bought-together") == [b.title, c.title]
    # P has no partner: the popularity fallback, labelled as such, without P itself.
    page = Client().get(p.get_absolute_url()).content.decode()
    assert "bought-together" not in _sections(page)
    assert "Popular right now" in page
    assert "our best-sellers" in page
    assert p.title not in _section_titles(page, "popular")
    assert _section_titles(page, "popular")[:2] == [a.title, b.title]


def _sections(page: str) -> dict[str, str]:
    return {
        match.group(1): match.group(2)
        for match in re.finditer(r'<section class="recs"[^>]*data-recs="([^"]+)">(.*?)</section>', page, re.S)
    }


def _section_titles(page: str, key: str) -> list[str]:
    return re.findall(r'<div class="title">([^<]+)</div>', _sections(page).get(key, ""))


def test_buyers_also_viewed_comes_from_sessions_split_at_thirty_minutes() -> None:
    x, y, z = (PatternFactory.create(title=f"Viewed {name}") for name in "XYZ")
    start = timezone.now() - timedelta(days=1)
    views = [
        ("v1", x, 0),
        ("v1", y, 5),
        ("v2", y, 0),
        ("v2", x, 29),
        # 31 and 120 minutes later: another session each time, so X and Z are never viewed together.
        ("v3", x, 0),
        ("v3", z, 31),
        ("v4", x, 0),
        ("v4", z, 120),
        # Without a visitor cookie nor a user, a view cannot be tied to another.
        ("", x, 0),
        ("", z, 1),
        ("", x, 2),
        ("", z, 3),
    ]
    Event.objects.bulk_create(
        Event(kind="page_view", visitor=v, pattern=pattern, created_at=start + timedelta(minutes=minutes))
        for v, pattern, minutes in views
    )
    # A signed-in buyer's views are one person's whatever the cookie: X, then Z 10 minutes later.
    buyer = UserFactory.create()
    Event.objects.bulk_create(
        [
            Event(kind="page_view", user=buyer, visitor="a", pattern=x, created_at=start),
            Event(kind="page_view", user=buyer, visitor="b", pattern=z, created_at=start + timedelta(minutes=10)),
        ]
    )
    stats = recommendations_recompute()
    assert stats["sessions"] == 7  # v1, v2, v3 ×2, v4 ×2, the buyer
    kind = Recommendation.Kind.ALSO_VIEWED
    # Sessions with X: v1, v2, v3, v4, buyer (5); with Y: 2; with Z: v3, v4, buyer (3). X-Y in 2, X-Z in 1 (< 2).
    assert _rows(kind, x) == [(y.pk, round(2 / (5 * 2) ** 0.5, 6), 2)]
    assert _rows(kind, y) == [(x.pk, round(2 / (5 * 2) ** 0.5, 6), 2)]
    assert _rows(kind, z) == []
    page = Client().get(x.get_absolute_url()).content.decode()
    assert _section_titles(page, "also-viewed") == [y.title]


def _pattern(title: str, file_format: str, *, creator: User | None = None, vector: list[float]) -> Pattern:
    pattern = PatternFactory.create(
        title=title, with_file=False, **({"creator": creator} if creator else {}), category=None
    )
    add_file(pattern, name=f"file.{file_format}", content=title.encode(), file_format=file_format)
    pattern.text_embedding = vector
    pattern.save(update_fields=["text_embedding"])
    return pattern


def _unit(*weights: float) -> list[float]:
    return [*weights, *[0.0] * (384 - len(weights))]


def test_complete_the_project_offers_other_families_only_and_no_near_duplicates() -> None:
    dress = _pattern("Wrap dress sewing pattern", "pdf", vector=_unit(1.0))
    fabric = _pattern("Wrap dress fabric print", "png", vector=_unit(0.8, 0.6))
    same_family = _pattern("Another dress pattern", "pdf", vector=_unit(1.0))
    near_duplicate = _pattern("Wrap dress sewing pattern (PNG)", "png", creator=dress.creator, vector=_unit(1.0))
    unrelated = _pattern("Hinge", "stl", vector=_unit(0.0, 0.0, 1.0))
    tag = Tag.objects.create(name="dress", slug="dress")
    for pattern in (dress, fabric, same_family):
        pattern.tags.add(tag)
    recommendations_recompute()
    kind = Recommendation.Kind.COMPLETE_PROJECT
    # 0.5 · text 0.8 + 0.2 · shared tags 1/1 = 0.6; the PDF is the same family, the PNG by the same creator the
    # same design, the hinge unrelated (below the floor).
    assert _rows(kind, dress) == [(fabric.pk, 0.6, 0)]
    assert {t for t, _, _ in _rows(kind, fabric)} == {dress.pk, same_family.pk}
    families = {p.pk: {f.family for f in p.files.all()} for p in Pattern.objects.prefetch_related("files")}
    pairs = list(Recommendation.objects.filter(kind=kind).values_list("source_id", "target_id"))
    # dress → fabric; fabric → dress, the PDF; the PDF → fabric, the PNG copy; the PNG copy → the PDF (not dress).
    assert len(pairs) == 6
    assert all(not families[source] & families[target] for source, target in pairs)
    assert not Recommendation.objects.filter(kind=kind, target__in=[unrelated]).exists()
    assert not Recommendation.objects.filter(kind=kind, source=dress, target=near_duplicate).exists()
    page = Client().get(dress.get_absolute_url()).content.decode()
    assert _section_titles(page, "complete-project") == [fabric.title]


def test_recommended_for_you_excludes_what_the_buyer_holds_saved_or_sells(planted: dict[str, Pattern]) -> None:
    a, b, c, d, p = (planted[name] for name in "ABCDP")
    own = PatternFactory.create(title="My own pattern")
    recommendations_recompute()
    buyer = own.creator
    # Bought after the recompute: excluded when read, not at the next recompute.
    paid_entitlement(buyer=buyer, pattern=a)
    Favourite.objects.create(user=buyer, pattern=c)
    sections = {section.key: [pt.pk for pt in section.patterns] for section in selectors.user_sections(user=buyer)}
    # A's partners are B and C; C is saved; D is C's partner. Never A (held), C (saved) or their own pattern.
    assert sections["for-you"] == [b.pk, d.pk]
    assert not {a.pk, c.pk, own.pk} & set(sections["popular"])
    assert sections["popular"][0] == p.pk
    client = Client()
    client.force_login(buyer)
    page = client.get("/").content.decode()
    assert _section_titles(page, "for-you") == [b.title, d.title]
    assert "Recommended for you" in page
    assert "Popular right now" in page
    # A buyer with no history: only the labelled popularity fallback; anonymous visitors: nothing.
    newcomer = UserFactory.create()
    [section] = selectors.user_sections(user=newcomer)
    assert (section.key, section.fallback, section.patterns[0].pk) == ("popular", True, p.pk)
    assert "Recommended for you" not in Client().get("/").content.decode()


def test_cart_suggestions_leave_out_the_cart_and_what_the_buyer_holds(planted: dict[str, Pattern]) -> None:
    a, b, c, d = (planted[name] for name in "ABCD")
    recommendations_recompute()
    buyer = UserFactory.create()
    client = Client()
    client.force_login(buyer)
    for pattern in (a, c):
        assert client.post(f"/cart/add/{pattern.pk}/").status_code == 302
    page = client.get("/cart/").content.decode()
    # A's partners B, C; C's partners D, A: less the cart (A, C), B and D, each first of its list (a tie: by id).
    assert _section_titles(page, "cart-suggestions") == [b.title, d.title]
    paid_entitlement(buyer=buyer, pattern=d)
    page = client.get("/cart/").content.decode()
    assert _section_titles(page, "cart-suggestions") == [b.title]
    sections = selectors.cart_sections(user=buyer, cart_ids=[a.pk, b.pk, c.pk])
    assert [(s.key, s.fallback) for s in sections] == [("popular", True)]  # nothing else: the labelled fallback
    assert {pt.pk for pt in sections[0].patterns}.isdisjoint({a.pk, b.pk, c.pk, d.pk})


def test_recommendations_cost_a_constant_number_of_queries(planted: dict[str, Pattern]) -> None:
    """The pattern page adds one query (its rows, joined to the published targets) and five for all the cards of
    its sections (catalog.selectors.pattern_cards); home for a signed-in buyer two (signals, rows) and five."""
    a = planted["A"]
    for pattern in planted.values():
        Preview.objects.create(
            pattern=pattern,
            pattern_file=pattern.files.get(),
            image=f"previews/test/{pattern.pk}.png",
            position=0,
            width=800,
            height=800,
        )
    recommendations_recompute()

    def sections_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            sections = selectors.pattern_sections(pattern_id=a.pk)
        assert [len(s.patterns) for s in sections] == [2]
        return len(captured)

    def home_queries(buyer: User) -> int:
        with CaptureQueriesContext(connection) as captured:
            sections = selectors.user_sections(user=buyer)
        assert sections
        return len(captured)

    def page_queries(client: Client, url: str) -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    buyer = UserFactory.create()
    paid_entitlement(buyer=buyer, pattern=a)
    signed_in = Client()
    signed_in.force_login(buyer)
    assert (sections_queries(), home_queries(buyer)) == (6, 7)
    pages = (page_queries(Client(), a.get_absolute_url()), page_queries(signed_in, "/"))
    more = [PatternFactory.create() for _ in range(4)]
    for pattern in more:
        for _ in range(2):
            _order(UserFactory.create(), [a, pattern])
    recommendations_recompute()
    with CaptureQueriesContext(connection) as captured:
        sections = selectors.pattern_sections(pattern_id=a.pk)
    # A's partners now: the four new ones (lift 2·32/(18·2) = 1.78) and B (1.07); C fell to 0.89.
    assert (len(captured), len(sections[0].patterns)) == (6, 5)
    Favourite.objects.create(user=buyer, pattern=more[0])
    assert home_queries(buyer) == 7
    # Whole pages: the same number of queries with 2 or 5 cards in a section, 1 or 2 signals.
    assert (page_queries(Client(), a.get_absolute_url()), page_queries(signed_in, "/")) == pages


def test_a_real_worker_recomputes_from_the_beat_task(celery_worker_process: Any) -> None:
    from analytics.tasks import recommendations_recompute as task
    from tests.conftest import wait_for

    a, b = PatternFactory.create(), PatternFactory.create()
    buyer = UserFactory.create()
    for _ in range(2):
        _order(buyer, [a, b])
    _order(buyer, [PatternFactory.create()])
    task.delay()
    wait_for(
        lambda: Recommendation.objects.filter(kind="bought_together", source=a, target=b).exists(),
        what="the worker's recompute",
    )
    assert list(
        Recommendation.objects.filter(kind="bought_together")
        .order_by("source_id")
        .values_list("source_id", "target_id")
    ) == [(a.pk, b.pk), (b.pk, a.pk)]


def test_kept_for_you_is_dropped_when_the_buyer_comes_to_hold_a_pattern(
    planted: dict[str, Pattern], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """With the page cache on, a warm home reads "for you" from Redis (no query); the grant of a pattern (the
    ``entitlement.granted`` inline handler) drops it at commit, so the pattern just bought is never offered."""
    from django.core.cache import cache
    from django.db import transaction

    from delivery.events import EntitlementGranted
    from marketplace.events import record

    settings.TESSERA_PAGE_CACHE = True
    cache.clear()
    a, b, d = planted["A"], planted["B"], planted["D"]
    recommendations_recompute()
    buyer = UserFactory.create()
    paid_entitlement(buyer=buyer, pattern=a)
    Favourite.objects.create(user=buyer, pattern=planted["C"])

    def for_you() -> list[int]:
        sections = selectors.user_sections_cached(user=buyer)
        return [p.pk for s in sections if s.key == "for-you" for p in s.patterns]

    assert for_you() == [b.pk, d.pk]
    with CaptureQueriesContext(connection) as captured:
        assert for_you() == [b.pk, d.pk]
    assert len(captured) == 0
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        entitlement = paid_entitlement(buyer=buyer, pattern=b)
        record(
            EntitlementGranted(
                entitlement_id=entitlement.pk, buyer_id=buyer.pk, pattern_id=b.pk, order_id=None, actor_id=None
            )
        )
    assert for_you() == [d.pk]
