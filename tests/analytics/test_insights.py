"""Issue 13, creator insights: the visitor cookie (Do-Not-Track / GPC honoured), bots, staff and the creator left
out, where visits come from, and, end to end, real traffic from several browsers through tracking, the drain, the
outbox and the rollup to exactly what the insights API shows."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

from analytics.models import Event, Rollup
from analytics.rollups import rollup_refresh
from analytics.selectors import pattern_insights
from analytics.services import events_drain
from catalog.models import CreatorProfile, Preview
from marketplace.events.services import outbox_drain
from marketplace.tracking import VISITOR_COOKIE, is_bot, source_of
from payments import ledger
from tests.factories import OrderFactory, PatternFactory, StaffFactory, UserFactory, order_item_add
from tests.payments.test_webhooks import _post, _signed

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def _browser(**headers: Any) -> Client:
    return Client(HTTP_USER_AGENT=BROWSER, **headers)


def _views() -> list[tuple[Any, ...]]:
    events_drain()
    return list(
        Event.objects.filter(kind="page_view").order_by("pk").values_list("pattern_id", "visitor", "source", "query")
    )


@pytest.mark.parametrize(
    ("referer", "expected"),
    [
        ("", ("direct", "")),
        ("https://www.reddit.com/r/3Dprinting/comments/abc", ("reddit.com", "")),
        ("https://old.reddit.com/r/x", ("old.reddit.com", "")),
        ("http://testserver/search/?q=modular++Desk&sort=new", ("search", "modular Desk")),
        ("http://testserver/c/laser/?q=box", ("search", "box")),
        ("http://testserver/search/", ("internal", "")),
        ("http://testserver/p/other/", ("internal", "")),
        ("not a url", ("direct", "")),
        ("http://[::1", ("direct", "")),
    ],
)
def test_the_source_of_a_visit_comes_from_its_referer(referer: str, expected: tuple[str, str]) -> None:
    request = RequestFactory().get("/patterns/x/", HTTP_REFERER=referer) if referer else RequestFactory().get("/")
    assert source_of(request) == expected


def test_known_crawlers_are_bots_and_browsers_are_not() -> None:
    assert is_bot(GOOGLEBOT)
    assert is_bot("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)")
    assert is_bot("facebookexternalhit/1.1")
    assert is_bot("curl/8.5.0")
    assert not is_bot(BROWSER)
    assert not is_bot("")


def test_a_visitor_gets_a_random_cookie_and_keeps_it() -> None:
    pattern = PatternFactory.create()
    browser = _browser()
    first = browser.get(f"/p/{pattern.slug}/")
    visitor = first.cookies[VISITOR_COOKIE].value
    assert len(visitor) == 32
    assert first.cookies[VISITOR_COOKIE]["httponly"]
    second = browser.get(f"/p/{pattern.slug}/")
    assert VISITOR_COOKIE not in second.cookies  # kept, not set again
    assert _views() == [(pattern.pk, visitor, "direct", ""), (pattern.pk, visitor, "direct", "")]


@pytest.mark.parametrize("header", [{"HTTP_DNT": "1"}, {"HTTP_SEC_GPC": "1"}])
def test_do_not_track_and_gpc_set_no_cookie_and_each_request_is_its_own_visitor(header: dict[str, str]) -> None:
    pattern = PatternFactory.create()
    browser = _browser(**header)
    browser.cookies[VISITOR_COOKIE] = "f" * 32  # an older cookie is not read either
    for _ in range(2):
        response = browser.get(f"/p/{pattern.slug}/", HTTP_REFERER="https://www.reddit.com/")
        assert response.status_code == 200
        assert VISITOR_COOKIE not in response.cookies
    assert _views() == [(pattern.pk, "", "reddit.com", ""), (pattern.pk, "", "reddit.com", "")]
    rollup_refresh()
    row = Rollup.objects.get(grain="day", pattern_id=pattern.pk, dimension="")
    assert (row.views, row.visitors) == (2, 2)


def test_bots_staff_and_the_creator_on_their_own_pages_are_not_counted() -> None:
    pattern = PatternFactory.create()
    CreatorProfile.objects.create(user=pattern.creator, display_name="Maker")
    bot = Client(HTTP_USER_AGENT=GOOGLEBOT)
    for _ in range(2):  # a miss and a page-cache hit alike
        response = bot.get(f"/p/{pattern.slug}/")
        assert response.status_code == 200
        assert VISITOR_COOKIE not in response.cookies
    staff, creator, other = _browser(), _browser(), _browser()
    staff.force_login(StaffFactory.create())
    creator.force_login(pattern.creator)
    other.force_login(UserFactory.create())
    for browser in (staff, creator):
        assert browser.get(f"/p/{pattern.slug}/").status_code == 200
        assert browser.get(f"/creators/{pattern.creator.username}/").status_code == 200
        assert browser.post(f"/cart/add/{pattern.pk}/").status_code == 302
    assert _views() == []
    assert not Event.objects.exists()
    assert other.get(f"/p/{pattern.slug}/").status_code == 200
    assert other.get(f"/creators/{pattern.creator.username}/").status_code == 200
    rows = _views()
    assert [(row[0], row[2]) for row in rows] == [(pattern.pk, "direct"), (None, "direct")]
    shop_view = Event.objects.get(kind="page_view", pattern=None)
    assert shop_view.metadata == {"shop": pattern.creator_id}


def test_the_beacon_refuses_what_it_cannot_read_and_writes_nothing() -> None:
    browser = _browser()
    for body in (
        b"not json",
        b"[]",
        b'{"type": "nothing"}',
        b'{"type": "impressions", "query": "", "patterns": [1]}',
        b'{"type": "impressions", "query": "desk", "patterns": ["1"]}',
        b'{"type": "impressions", "query": "desk", "patterns": []}',
        json.dumps({"type": "impressions", "query": "d", "patterns": list(range(1, 200))}).encode(),
        b'{"type": "previews", "pattern": true, "previews": [1]}',
    ):
        response = browser.post("/t/", body, content_type="application/json")
        assert response.status_code == 400, body
    assert browser.get("/t/").status_code == 405
    events_drain()
    assert not Event.objects.exists()


def test_the_insights_api_answers_only_the_creator_and_staff() -> None:
    pattern = PatternFactory.create()
    draft = PatternFactory.create(status="draft")
    url = f"/api/v1/insights/patterns/{pattern.pk}/"
    assert Client().get(url).status_code == 401
    assert Client().get("/api/v1/insights/").status_code == 401
    stranger = Client()
    stranger.force_login(UserFactory.create())
    assert stranger.get(url).status_code == 403
    assert stranger.get(f"/api/v1/insights/patterns/{draft.pk}/").status_code == 404
    assert stranger.get("/api/v1/insights/patterns/999999/").status_code == 404
    assert stranger.get("/api/v1/insights/marketplace/").status_code == 403
    owner = Client()
    owner.force_login(pattern.creator)
    for days in ("5", "abc", "0", "-7"):
        response = owner.get(url, {"days": days})
        assert response.status_code == 400
        assert "days" in response.json()
    assert owner.get(url, {"days": "365"}).json()["days"] == 365
    staff = Client()
    staff.force_login(StaffFactory.create(is_superuser=True))
    assert staff.get(url).status_code == 200
    assert staff.get("/api/v1/insights/marketplace/?days=7").json()["gmv"] == 0


def _pay(order: Any, *, country: str, event_id: str) -> None:
    payload = json.dumps(
        {
            "id": event_id,
            "type": "payment_intent.succeeded",
            "data": {
                "object": {
                    "id": order.stripe_payment_intent_id,
                    "object": "payment_intent",
                    "amount": order.amount,
                    "currency": "usd",
                    "status": "succeeded",
                    "latest_charge": {
                        "id": f"ch_{event_id}",
                        "payment_method_details": {"card": {"brand": "visa", "last4": "4242", "country": country}},
                    },
                }
            },
        }
    ).encode()
    assert _post(Client(), payload, _signed(payload)).json()["outcome"] == "fulfilled"


def test_insights_show_exactly_the_visitors_sources_campaigns_search_terms_and_sales_of_real_traffic() -> None:
    """The issue's "done when": browsers from reddit, a newsletter campaign, a Tessera search (and a signed-in buyer
    who came from the same search, saw a preview, added to cart and paid), one with Do-Not-Track from facebook;
    a crawler and the creator's own visits do not count."""
    pattern = PatternFactory.create(price=1200)
    other_pattern = PatternFactory.create(creator=pattern.creator, price=300)
    page = f"/p/{pattern.slug}/"
    search = "http://testserver/search/?q=modular+desk"

    reddit = _browser()
    assert reddit.get(page, HTTP_REFERER="https://www.reddit.com/r/functionalprint/").status_code == 200
    assert reddit.get(page, HTTP_REFERER="https://www.reddit.com/r/functionalprint/").status_code == 200
    newsletter = _browser()
    assert newsletter.get(page, {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring"})
    searcher = _browser()
    assert searcher.get("/search/", {"q": "modular desk"}).status_code == 200
    impressions = {"type": "impressions", "query": "modular desk", "patterns": [pattern.pk, other_pattern.pk]}
    assert searcher.post("/t/", json.dumps(impressions), content_type="application/json").status_code == 204
    assert searcher.get(page, HTTP_REFERER=search).status_code == 200
    private = _browser(HTTP_DNT="1")
    assert private.get(page, HTTP_REFERER="https://m.facebook.com/").status_code == 200
    bot = Client(HTTP_USER_AGENT=GOOGLEBOT)
    assert bot.get(page, HTTP_REFERER="https://www.reddit.com/").status_code == 200
    creator = _browser()
    creator.force_login(pattern.creator)
    assert creator.get(page, HTTP_REFERER="https://www.reddit.com/").status_code == 200

    buyer = UserFactory.create()
    shopper = _browser()
    shopper.force_login(buyer)
    assert shopper.get(page, HTTP_REFERER=search).status_code == 200
    preview = Preview.objects.create(
        pattern=pattern, pattern_file=pattern.files.get(), image="previews/front.png", label="Front"
    )
    seen = {"type": "previews", "pattern": pattern.pk, "previews": [preview.pk]}
    assert shopper.post("/t/", json.dumps(seen), content_type="application/json").status_code == 204
    assert reddit.post("/t/", json.dumps(seen), content_type="application/json").status_code == 204
    assert shopper.post(f"/cart/add/{pattern.pk}/").status_code == 302
    order = OrderFactory.create(buyer=buyer, amount=1200)
    order_item_add(order=order, pattern=pattern)
    _pay(order, country="DE", event_id="evt_insights")

    events_drain()
    outbox_drain()
    rollup_refresh()

    owner = _browser()
    owner.force_login(pattern.creator)
    response = owner.get(f"/api/v1/insights/patterns/{pattern.pk}/", {"days": "7"})
    assert response.status_code == 200
    data = response.json()
    fee = ledger.platform_fee_for(1200)
    # reddit twice (one visitor), newsletter, searcher, Do-Not-Track (its own visitor), buyer.
    assert {key: data[key] for key in ("views", "visitors", "add_to_cart", "purchases", "revenue", "net")} == {
        "views": 6,
        "visitors": 5,
        "add_to_cart": 1,
        "purchases": 1,
        "revenue": 1200,
        "net": 1200 - fee,
    }
    assert (data["currency"], data["impressions"], data["clicks"], data["conversion"]) == ("USD", 1, 2, 0.2)
    assert [(s["source"], s["visitors"], s["purchases"]) for s in data["sources"]] == [
        ("search", 2, 1),
        ("direct", 1, 0),
        ("m.facebook.com", 1, 0),
        ("reddit.com", 1, 0),
    ]
    assert [(c["source"], c["medium"], c["campaign"], c["visitors"]) for c in data["campaigns"]] == [
        ("newsletter", "email", "spring", 1)
    ]
    assert [(t["query"], t["impressions"], t["visitors"], t["purchases"]) for t in data["search_terms"]] == [
        ("modular desk", 1, 2, 1)
    ]
    assert [
        (p["preview_id"], p["label"], p["visitors"], p["purchases"], p["conversion"]) for p in data["previews"]
    ] == [(preview.pk, "Front", 2, 1, 0.5)]
    assert [(c["country"], c["purchases"], c["revenue"]) for c in data["countries"]] == [("DE", 1, 1200)]
    assert [(b["kind"], b["purchases"]) for b in data["buyers"]] == [("new", 1), ("returning", 0)]
    assert data["previous"]["views"] == 0
    assert sum(point["views"] for point in data["series"]) == 6
    assert len(data["series"]) == 7
    assert sum(point["views"] for point in data["hourly"]) == 6

    shop = owner.get("/api/v1/insights/", {"days": "30"}).json()
    assert (shop["views"], shop["visitors"], shop["purchases"], shop["revenue"]) == (6, 5, 1, 1200)
    assert [(p["pattern_id"], p["visitors"], p["impressions"]) for p in shop["patterns"]] == [
        (pattern.pk, 5, 1),
        (other_pattern.pk, 0, 1),
    ]
    assert len(shop["series"]) == 30

    # Rolling up again changes nothing; the bot and the creator left no row at all.
    before = sorted(Rollup.objects.values_list("grain", "pattern_id", "creator_id", "dimension", "key", "views"))
    rollup_refresh()
    assert (
        sorted(Rollup.objects.values_list("grain", "pattern_id", "creator_id", "dimension", "key", "views")) == before
    )
    assert not Event.objects.filter(source="reddit.com").exclude(visitor=reddit.cookies[VISITOR_COOKIE].value).exists()
    assert settings.TESSERA_ANALYTICS_RAW_RETENTION_DAYS == 90


def test_a_purchase_is_credited_to_what_the_buyer_did_before_signing_in() -> None:
    """Browsed anonymously from reddit and a newsletter, looked at a preview, signed in, bought: the visitor id
    they used signed in (the cart) links the anonymous visit to the purchase."""
    pattern = PatternFactory.create(price=800)
    browser = _browser()
    landing = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "may"}
    assert browser.get(f"/p/{pattern.slug}/", landing, HTTP_REFERER="https://www.reddit.com/").status_code == 200
    assert browser.get("/", HTTP_REFERER="https://www.reddit.com/").status_code == 200
    preview = Preview.objects.create(pattern=pattern, pattern_file=pattern.files.get(), image="previews/a.png")
    seen = {"type": "previews", "pattern": pattern.pk, "previews": [preview.pk]}
    assert browser.post("/t/", json.dumps(seen), content_type="application/json").status_code == 204
    assert browser.get(f"/p/{pattern.slug}/", HTTP_REFERER="http://testserver/").status_code == 200  # internal
    buyer = UserFactory.create()
    browser.force_login(buyer)
    assert browser.post(f"/cart/add/{pattern.pk}/").status_code == 302
    events_drain()
    order = OrderFactory.create(buyer=buyer, amount=800)
    order_item_add(order=order, pattern=pattern)
    _pay(order, country="FR", event_id="evt_linked")
    outbox_drain()
    purchase = Event.objects.get(kind="purchase")
    assert {k: purchase.metadata[k] for k in ("source", "query", "utm_source", "utm_campaign", "previews")} == {
        "source": "reddit.com",
        "query": "",
        "utm_source": "newsletter",
        "utm_campaign": "may",
        "previews": [preview.pk],
    }
    rollup_refresh()
    data = pattern_insights(pattern_id=pattern.pk, days=30)
    assert [(s["source"], s["visitors"], s["purchases"]) for s in data["sources"]] == [
        ("reddit.com", 1, 1),
        ("internal", 1, 0),
    ]
    assert [(c["campaign"], c["purchases"], c["revenue"]) for c in data["campaigns"]] == [("may", 1, 800)]
    assert [(p["preview_id"], p["visitors"], p["purchases"]) for p in data["previews"]] == [(preview.pk, 1, 1)]
    assert data["countries"] == [
        {"country": "FR", "purchases": 1, "revenue": 800, "net": 800 - ledger.platform_fee_for(800)}
    ]
