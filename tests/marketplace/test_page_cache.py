"""The anonymous page cache (marketplace.page_cache): what one visitor's cached page may never carry to another,
invalidation on publish and reject, and the Cache-Control of shared and personal pages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.middleware.csrf import _unmask_cipher_token  # type: ignore[attr-defined]
from django.test import Client

from analytics.models import Event
from analytics.services import events_drain
from catalog import services
from catalog.models import Pattern
from marketplace import page_cache
from payments.cart import cart_ids
from tests.factories import PatternFactory, StaffFactory, UserFactory, paid_entitlement

pytestmark = pytest.mark.django_db

PUBLIC = "public, max-age=30, stale-while-revalidate=30"
PRIVATE = "private, no-store"
TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"')
NONCE = re.compile(rb'<script type="importmap" nonce="([^"]+)"')


@pytest.fixture(autouse=True)
def _page_cache_on(settings: Any) -> Iterator[None]:
    settings.TESSERA_PAGE_CACHE = True
    settings.TESSERA_PAGE_CACHE_MAX_AGE = 30
    settings.TESSERA_PAGE_CACHE_STALE_WHILE_REVALIDATE = 30
    page_cache._bump_version()  # nothing cached by an earlier test (or run) is served to this one
    yield
    page_cache._bump_version()


def test_cached_pattern_page_gives_each_visitor_their_own_csrf_token_and_nonce() -> None:
    pattern = PatternFactory.create(title="Tokened lamp")
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    stored = first.get(pattern.get_absolute_url())
    served = second.get(pattern.get_absolute_url())
    assert (stored["X-Page-Cache"], served["X-Page-Cache"]) == ("miss", "hit")
    assert page_cache.CSRF_PLACEHOLDER.encode() not in served.content
    first_tokens, second_tokens = TOKEN.findall(stored.content), TOKEN.findall(served.content)
    assert first_tokens
    assert second_tokens
    # The second visitor's page holds only tokens of their own secret (the cookie they were just given).
    second_secret = served.cookies["csrftoken"].value
    assert second_secret != stored.cookies["csrftoken"].value
    assert {_unmask_cipher_token(t.decode()) for t in second_tokens} == {second_secret}
    assert not set(first_tokens) & set(second_tokens)
    # The page has no inline script (the viewer's import map is gone), so neither copy carries a nonce and no
    # stored nonce reaches the second visitor's header.
    assert NONCE.findall(stored.content) == NONCE.findall(served.content) == []
    assert "'nonce-" not in served["Content-Security-Policy"]
    # The token works: the second visitor adds the pattern to their cart.
    added = second.post(f"/cart/add/{pattern.pk}/", {"csrfmiddlewaretoken": second_tokens[0].decode()})
    assert added.status_code == 302
    assert list(cart_ids(second.session)) == [pattern.pk]


def test_no_cart_count_or_username_reaches_another_visitor() -> None:
    pattern = PatternFactory.create(title="Shared lamp")
    buyer = UserFactory.create(username="buyer_with_a_name")
    signed_in = Client()
    signed_in.force_login(buyer)
    own = signed_in.get("/")
    assert own.context["user"] == buyer
    assert not own.has_header("X-Page-Cache")
    # An anonymous visitor with a cart (a session cookie) gets their own page, which is never stored.
    with_cart = Client()
    assert with_cart.post(f"/cart/add/{pattern.pk}/").status_code == 302
    theirs = with_cart.get("/")
    assert theirs.context["cart_count"] == 1
    assert not theirs.has_header("X-Page-Cache")
    stored = Client().get("/")
    served = Client().get("/")
    assert (stored["X-Page-Cache"], served["X-Page-Cache"]) == ("miss", "hit")
    assert stored.context["cart_count"] == 0
    assert stored.context["user"].is_anonymous
    assert served.content == stored.content
    assert b"buyer_with_a_name" not in served.content
    # And the signed-in buyer is never served the anonymous copy.
    again = signed_in.get("/")
    assert again.context["user"] == buyer
    assert not again.has_header("X-Page-Cache")


def test_rejecting_a_pattern_takes_it_off_the_cached_home_at_once(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    kept = PatternFactory.create(title="Kept lantern")
    rejected = PatternFactory.create(title="Soon rejected vase")
    waiting = PatternFactory.create(
        title="Waiting teapot", status=Pattern.Status.NEEDS_REVIEW, published_at=None, with_file=False
    )
    before = Client().get("/")
    assert b"Soon rejected vase" in before.content
    assert b"Waiting teapot" not in before.content
    assert Client().get("/")["X-Page-Cache"] == "hit"
    moderator = StaffFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        services.pattern_moderate(pattern=rejected, moderator=moderator, action="reject", reason="Not original")
    after_reject = Client().get("/")
    assert after_reject["X-Page-Cache"] == "miss"
    assert b"Soon rejected vase" not in after_reject.content
    assert b"Kept lantern" in after_reject.content
    assert Client().get(rejected.get_absolute_url()).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        services.pattern_moderate(pattern=waiting, moderator=moderator, action="approve")
    after_approve = Client().get("/")
    assert after_approve["X-Page-Cache"] == "miss"
    assert b"Waiting teapot" in after_approve.content
    assert kept.pk


def test_page_views_and_searches_served_from_the_cache_are_still_recorded() -> None:
    pattern = PatternFactory.create(title="Counted lamp")
    for _ in range(3):
        Client().get(pattern.get_absolute_url())
        Client().get("/search/", {"q": "counted"})
    events_drain()  # as the beat task does every few seconds
    assert Event.objects.filter(kind="page_view", pattern=pattern, user=None).count() == 3
    searches = Event.objects.filter(kind="search", query="counted")
    assert [(e.result_count, e.user_id) for e in searches] == [(1, None)] * 3


@pytest.mark.parametrize(
    ("path", "anonymous"),
    [
        ("/", PUBLIC),
        ("/search/?q=lamp", PUBLIC),
        # A search that finds little offers the "tell us what you wanted" form, with its CSRF token.
        ("/search/?q=zebra", PRIVATE),
        ("/c/3d-printing/", PUBLIC),
        ("/api/v1/patterns/", PUBLIC),
        # The add-to-cart form carries the visitor's own CSRF token: never for a shared cache.
        ("pattern", PRIVATE),
    ],
)
def test_cache_control_of_anonymous_and_signed_in_pages(path: str, anonymous: str) -> None:
    pattern = PatternFactory.create(title="Headed lamp")
    PatternFactory.create_batch(2, title="Another lamp")  # three lamps: a search for them is not a weak one
    path = pattern.get_absolute_url() if path == "pattern" else path
    for attempt in ("miss", "hit"):
        response = Client().get(path)
        assert response.status_code == 200
        assert (response["X-Page-Cache"], response["Cache-Control"]) == (attempt, anonymous)
        assert "Cookie" in response["Vary"]
    signed_in = Client()
    signed_in.force_login(UserFactory.create())
    response = signed_in.get(path)
    assert response["Cache-Control"] == PRIVATE
    assert "Cookie" in response["Vary"]
    # Personal pages that were never marked cacheable are private too.
    assert signed_in.get("/cart/")["Cache-Control"] == PRIVATE


def test_a_refused_query_is_not_cached() -> None:
    bad = Client().get("/search/", {"page": "zero"})
    assert bad.status_code == 400
    assert bad["Cache-Control"] == PRIVATE
    assert Client().get("/search/", {"page": "zero"}).status_code == 400
    assert not Client().get("/search/", {"page": "zero"}).has_header("X-Page-Cache")


def test_signed_in_home_reuses_catalogue_data_until_the_catalogue_changes(
    django_capture_on_commit_callbacks: Callable[..., Any], django_assert_num_queries: Callable[..., Any]
) -> None:
    shown = PatternFactory.create(title="Signed-in lantern")
    waiting = PatternFactory.create(
        title="Signed-in teapot", status=Pattern.Status.NEEDS_REVIEW, published_at=None, with_file=False
    )
    signed_in = Client()
    signed_in.force_login(UserFactory.create())
    assert b"Signed-in lantern" in signed_in.get("/").content
    # Warm: the user; the session comes from Redis, the catalogue data too; the page view is buffered in Redis.
    with django_assert_num_queries(1):
        signed_in.get("/")
    moderator = StaffFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        services.pattern_moderate(pattern=shown, moderator=moderator, action="reject", reason="Not original")
    with django_capture_on_commit_callbacks(execute=True):
        services.pattern_moderate(pattern=waiting, moderator=moderator, action="approve")
    page = signed_in.get("/").content
    assert b"Signed-in lantern" not in page
    assert b"Signed-in teapot" in page


@pytest.mark.parametrize(("path", "queries"), [("/", 0), ("/search/?q=lamp", 0), ("/api/v1/patterns/", 0)])
def test_a_cached_page_costs_no_query(path: str, queries: int, django_assert_num_queries: Callable[..., Any]) -> None:
    PatternFactory.create(title="Cheap lamp")
    Client().get(path)
    with django_assert_num_queries(queries):
        assert Client().get(path)["X-Page-Cache"] == "hit"


def test_signed_in_pattern_page_shares_the_pattern_but_keeps_each_visitors_own_parts(
    django_capture_on_commit_callbacks: Callable[..., Any], django_assert_num_queries: Callable[..., Any]
) -> None:
    pattern = PatternFactory.create(title="Fragment lamp")
    owner, shopper = UserFactory.create(username="owner_of_it"), UserFactory.create(username="shopper_with_cart")
    paid_entitlement(buyer=owner, pattern=pattern)
    owning, shopping = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    owning.force_login(owner)
    shopping.force_login(shopper)
    assert shopping.post(f"/cart/add/{PatternFactory.create().pk}/").status_code == 403  # no token: nothing added
    shopping.get(pattern.get_absolute_url())
    token = shopping.cookies["csrftoken"].value
    assert shopping.post(f"/cart/add/{pattern.pk}/", {"csrfmiddlewaretoken": token}).status_code == 302
    shopping.get(pattern.get_absolute_url())  # the pattern, its fragments and "more like this" are now cached
    # Warm: the user and the entitlement check, whether it is a favourite and the visitor's collections (each marked
    # whether it holds the pattern); pattern data, page fragments and the collection count come from Redis.
    with django_assert_num_queries(4):
        mine = owning.get(pattern.get_absolute_url()).content.decode()
    theirs = shopping.get(pattern.get_absolute_url()).content.decode()
    for page in (mine, theirs):
        assert "Fragment lamp" in page
        assert "Licence: what you may do" in page
    assert "owner_of_it" in mine
    assert "shopper_with_cart" not in mine
    assert "shopper_with_cart" in theirs
    assert "owner_of_it" not in theirs
    assert "In your library — download" in mine
    assert "Add to cart" not in mine
    assert "In your library" not in theirs
    assert "Add to cart" in theirs
    assert '<span class="cart-count" id="cart-count">0</span>' in mine
    assert '<span class="cart-count" id="cart-count">1</span>' in theirs
    # Each page's form tokens are its own visitor's.
    assert {_unmask_cipher_token(t.decode()) for t in TOKEN.findall(theirs.encode())} == {token}
    assert not {_unmask_cipher_token(t.decode()) for t in TOKEN.findall(mine.encode())} & {token}
    # The creator adds a tag: it shows at once, fragments and all.
    with django_capture_on_commit_callbacks(execute=True):
        services.pattern_tags_add_by_creator(pattern=pattern, user=pattern.creator, text="moonlight")
    assert "moonlight" in owning.get(pattern.get_absolute_url()).content.decode()


def test_signed_in_search_reuses_results_until_the_catalogue_changes(
    django_capture_on_commit_callbacks: Callable[..., Any], django_assert_num_queries: Callable[..., Any]
) -> None:
    for n in range(3):
        PatternFactory.create(title=f"Reused lamp {n}")
    waiting = PatternFactory.create(title="Reused lamp waiting", status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    first, second = Client(), Client()
    first.force_login(UserFactory.create(username="first_searcher"))
    second.force_login(UserFactory.create(username="second_searcher"))
    assert first.get("/search/", {"q": "reused lamp"}).context["page"].paginator.count == 3
    with django_assert_num_queries(1):  # the user; the results, facets and count come from Redis
        page = second.get("/search/", {"q": "reused lamp"})
    assert page.context["page"].paginator.count == 3
    assert b"second_searcher" in page.content
    assert b"first_searcher" not in page.content
    with django_capture_on_commit_callbacks(execute=True):
        services.pattern_moderate(pattern=waiting, moderator=StaffFactory.create(), action="approve")
    after = second.get("/search/", {"q": "reused lamp"})
    assert after.context["page"].paginator.count == 4
    assert b"Reused lamp waiting" in after.content


def test_api_list_data_is_shared_by_address_for_signed_in_clients_until_the_catalogue_changes(
    django_capture_on_commit_callbacks: Callable[..., Any], django_assert_num_queries: Callable[..., Any]
) -> None:
    PatternFactory.create(title="Listed lamp")
    waiting = PatternFactory.create(title="Listed teapot", status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    first, second = Client(), Client()
    first.force_login(UserFactory.create())
    second.force_login(UserFactory.create())
    assert [p["title"] for p in first.get("/api/v1/patterns/").json()["results"]] == ["Listed lamp"]
    with django_assert_num_queries(1):  # the user; the list comes from Redis
        listed = second.get("/api/v1/patterns/").json()
    assert [p["title"] for p in listed["results"]] == ["Listed lamp"]
    assert listed["results"][0]["url"].startswith("http://testserver/")
    # Another host gets its own absolute URLs, never the first host's.
    other = second.get("/api/v1/patterns/", HTTP_HOST="127.0.0.1").json()
    assert other["results"][0]["url"].startswith("http://127.0.0.1/")
    with django_capture_on_commit_callbacks(execute=True):
        services.pattern_moderate(pattern=waiting, moderator=StaffFactory.create(), action="approve")
    titles = {p["title"] for p in second.get("/api/v1/patterns/").json()["results"]}
    assert titles == {"Listed lamp", "Listed teapot"}
