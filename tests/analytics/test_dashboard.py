"""Issue 13, the insights pages: ``/sell/insights/`` (the shop), ``/sell/insights/patterns/<id>/`` and
``/staff/insights/`` show exactly what real tracked requests (rolled up by the real rollup) add up to, every table
exports as formula-safe CSV, and only the creator (and staff) see a pattern's figures."""

from __future__ import annotations

import json
import re
from datetime import UTC, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from analytics.rollups import rollup_refresh
from analytics.services import events_drain
from catalog.models import Preview
from marketplace.events.services import outbox_drain
from payments import ledger
from tests.analytics.test_insights import GOOGLEBOT, _browser, _pay
from tests.factories import OrderFactory, PatternFactory, StaffFactory, UserFactory, order_item_add

pytestmark = pytest.mark.django_db

SEARCH = "http://testserver/search/?q=modular+desk"


class _Tables(HTMLParser):
    """Each ``<table id=...>``'s rows as lists of cell texts (whitespace collapsed)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _tables(response: Any) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(response.content.decode())
    return parser.tables


def _tiles(response: Any) -> dict[str, str]:
    html = response.content.decode()
    return {
        m: " ".join(re.sub(r"<[^>]+>", "", v).split()) for m, v in re.findall(r'data-metric="(\w+)">(.*?)</span>', html)
    }


def _csv(client: Client, url: str, **params: str) -> tuple[Any, str]:
    response = client.get(url, {"format": "csv", **params})
    assert response.status_code == 200, response.content[:300]
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return response, body[1:]


def _traffic() -> dict[str, Any]:
    """Real visits through the tracking middleware, the beacon, the cart and a signed Stripe webhook, drained,
    outboxed and rolled up: reddit twice (one visitor), a newsletter campaign, a Tessera searcher, a signed-in
    buyer from the same search who saw a preview, added to cart and paid from Germany, and a visitor of the second
    pattern from a search whose words look like a spreadsheet formula; a crawler and the creator do not count."""
    pattern = PatternFactory.create(title="Modular desk organiser", price=1200)
    other = PatternFactory.create(creator=pattern.creator, title="=SUM(A1:A9) planter", price=300)
    quiet = PatternFactory.create(creator=pattern.creator, title="Quiet coaster", status="draft")
    page = f"/p/{pattern.slug}/"
    reddit = _browser()
    for _ in range(2):
        assert reddit.get(page, HTTP_REFERER="https://www.reddit.com/r/functionalprint/").status_code == 200
    newsletter = _browser()
    assert newsletter.get(page, {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring"})
    searcher = _browser()
    assert searcher.get("/search/", {"q": "modular desk"}).status_code == 200
    impressions = {"type": "impressions", "query": "modular desk", "patterns": [pattern.pk, other.pk]}
    assert searcher.post("/t/", json.dumps(impressions), content_type="application/json").status_code == 204
    assert searcher.get(page, HTTP_REFERER=SEARCH).status_code == 200
    formula = _browser()
    formula_search = "http://testserver/search/?q=%3DHYPERLINK%28%22x%22%29"
    assert formula.get(f"/p/{other.slug}/", HTTP_REFERER=formula_search).status_code == 200
    assert Client(HTTP_USER_AGENT=GOOGLEBOT).get(page, HTTP_REFERER="https://www.reddit.com/").status_code == 200
    own = _browser()
    own.force_login(pattern.creator)
    assert own.get(page, HTTP_REFERER="https://www.reddit.com/").status_code == 200

    buyer = UserFactory.create()
    shopper = _browser()
    shopper.force_login(buyer)
    assert shopper.get(page, HTTP_REFERER=SEARCH).status_code == 200
    preview = Preview.objects.create(
        pattern=pattern, pattern_file=pattern.files.get(), image="previews/front.png", label="Front"
    )
    seen = {"type": "previews", "pattern": pattern.pk, "previews": [preview.pk]}
    assert shopper.post("/t/", json.dumps(seen), content_type="application/json").status_code == 204
    assert reddit.post("/t/", json.dumps(seen), content_type="application/json").status_code == 204
    assert shopper.post(f"/cart/add/{pattern.pk}/").status_code == 302
    order = OrderFactory.create(buyer=buyer, amount=1200)
    order_item_add(order=order, pattern=pattern)
    _pay(order, country="DE", event_id="evt_dashboard")
    events_drain()
    outbox_drain()
    rollup_refresh()
    return {"pattern": pattern, "other": other, "quiet": quiet, "preview": preview}


def test_the_shop_and_pattern_pages_show_exactly_the_rolled_up_traffic_and_export_it_as_csv() -> None:
    made = _traffic()
    pattern, other, quiet, preview = made["pattern"], made["other"], made["quiet"], made["preview"]
    owner = Client()
    owner.force_login(pattern.creator)
    fee = ledger.platform_fee_for(1200)
    today = timezone.now().astimezone(UTC).date()

    response = owner.get("/sell/insights/", {"days": "7"})
    assert response.status_code == 200
    # reddit (1 visitor), newsletter, searcher, buyer on the first pattern; the formula searcher on the second.
    assert _tiles(response) == {
        "views": "6",
        "visitors": "5",
        "add_to_cart": "1",
        "purchases": "1",
        "revenue": "USD 12.00",
        "conversion": "20.0%",
    }
    html = response.content.decode()
    assert 'data-change="views"><span aria-hidden="true">▲</span>\n    +6' in html  # nothing the 7 days before
    tables = _tables(response)
    assert tables["table-patterns"] == [
        ["Pattern", "Views", "Visitors", "Added to cart", "Sales", "Conversion", "Revenue"],
        ["Modular desk organiser", "5", "4", "1", "1", "25.0%", "USD 12.00"],
        ["=SUM(A1:A9) planter", "1", "1", "0", "0", "0.0%", "USD 0.00"],
        ["Quiet coaster Draft", "0", "0", "0", "0", "0.0%", "USD 0.00"],
    ]
    for row in (pattern, other, quiet):
        assert f'href="/sell/insights/patterns/{row.pk}/?days=7"' in html
    assert tables["table-sources"] == [
        ["Source", "Visitors", "Sales", "Conversion", "Revenue"],
        ["Tessera search", "3", "1", "33.3%", "USD 12.00"],
        ["Direct or unknown", "1", "0", "0.0%", "USD 0.00"],
        ["reddit.com", "1", "0", "0.0%", "USD 0.00"],
    ]
    assert tables["table-campaigns"][1:] == [["spring", "newsletter / email", "1", "0", "USD 0.00"]]
    assert tables["table-search-terms"][1:] == [
        ["modular desk", "2", "2", "1", "USD 12.00"],
        ['=HYPERLINK("x")', "0", "1", "0", "USD 0.00"],
    ]
    assert tables["table-previews"][1:] == [["Front Modular desk organiser", "2", "1", "50.0%"]]
    assert tables["table-countries"][1:] == [["DE", "1", "USD 12.00"]]
    assert tables["table-buyers"][1:] == [["New", "1", "USD 12.00"], ["Returning", "0", "USD 0.00"]]
    daily = tables[""]  # the charts' data table
    assert len(daily) == 8
    assert daily[-1][1:] == ["6", "5", "1", "1", "USD 12.00"]
    assert html.count('<rect class="insights-bar"') == 4  # one bar today in each chart
    assert '<svg viewBox="0 0 7 100"' in html
    assert 'role="img" aria-labelledby="chart-views-title' in html

    # CSV: every table, exact, formula-safe, named.
    url = "/sell/insights/"
    net = f"{(1200 - fee) // 100}.{(1200 - fee) % 100:02d}"
    first, patterns_csv = _csv(owner, url, days="7", table="patterns")
    assert first["Content-Type"] == "text/csv; charset=utf-8"
    assert first["Cache-Control"] == response["Cache-Control"] == "private, no-store"
    assert first["Content-Disposition"] == f'attachment; filename="tessera-shop-patterns-7d-{today.isoformat()}.csv"'
    assert patterns_csv == (
        "pattern_id,title,status,views,visitors,add_to_cart,purchases,conversion,revenue (USD),net (USD)\r\n"
        f"{pattern.pk},Modular desk organiser,published,5,4,1,1,0.2500,12.00,{net}\r\n"
        f"{other.pk},'=SUM(A1:A9) planter,published,1,1,0,0,0.0000,0.00,0.00\r\n"
        f"{quiet.pk},Quiet coaster,draft,0,0,0,0,0.0000,0.00,0.00\r\n"
    )
    assert _csv(owner, url, days="7", table="search_terms")[1] == (
        "query,searches that showed it,clicks,visitors,purchases,revenue (USD)\r\n"
        "modular desk,2,2,2,1,12.00\r\n"
        '"\'=HYPERLINK(""x"")",0,1,1,0,0.00\r\n'
    )
    assert _csv(owner, url, days="7", table="sources")[1] == (
        "source,visitors,views,purchases,conversion,revenue (USD),net (USD)\r\n"
        f"search,3,3,1,0.3333,12.00,{net}\r\n"
        "direct,1,1,0,0.0000,0.00,0.00\r\n"
        "reddit.com,1,2,0,0.0000,0.00,0.00\r\n"
    )
    assert _csv(owner, url, days="7", table="campaigns")[1] == (
        "utm_source,utm_medium,utm_campaign,visitors,views,purchases,conversion,revenue (USD),net (USD)\r\n"
        "newsletter,email,spring,1,1,0,0.0000,0.00,0.00\r\n"
    )
    assert _csv(owner, url, days="7", table="previews")[1] == (
        "preview_id,pattern,label,views,visitors,purchases,conversion,revenue (USD)\r\n"
        f"{preview.pk},Modular desk organiser,Front,2,2,1,0.5000,12.00\r\n"
    )
    assert _csv(owner, url, days="7", table="countries")[1] == (
        f"country,purchases,revenue (USD),net (USD)\r\nDE,1,12.00,{net}\r\n"
    )
    assert _csv(owner, url, days="7", table="buyers")[1] == (
        f"buyers,purchases,revenue (USD),net (USD)\r\nnew,1,12.00,{net}\r\nreturning,0,0.00,0.00\r\n"
    )
    assert _csv(owner, url, days="7", table="totals")[1] == (
        "metric,last 7 days,previous 7 days,change\r\n"
        "views,6,0,6\r\nvisitors,5,0,5\r\nsearches,0,0,0\r\nimpressions,2,0,2\r\nclicks,3,0,3\r\n"
        "add_to_cart,1,0,1\r\npurchases,1,0,1\r\n"
        f"revenue (USD),12.00,0.00,12.00\r\nnet (USD),{net},0.00,{net}\r\nconversion,0.2000,0.0000,0.2000\r\n"
    )
    daily_csv = _csv(owner, url, days="7", table="daily")[1].splitlines()
    assert daily_csv[0] == "day,views,visitors,add_to_cart,purchases,revenue (USD),net (USD)"
    assert daily_csv[1:] == [f"{today - timedelta(days=n)},0,0,0,0,0.00,0.00" for n in range(6, 0, -1)] + [
        f"{today},6,5,1,1,12.00,{net}"
    ]

    # One pattern: the funnel visitors → add to cart → purchases, and its own tables.
    response = owner.get(f"/sell/insights/patterns/{pattern.pk}/", {"days": "7"})
    assert response.status_code == 200
    assert _tiles(response) == {
        "views": "5",
        "visitors": "4",
        "add_to_cart": "1",
        "purchases": "1",
        "revenue": "USD 12.00",
        "conversion": "25.0%",
    }
    html = response.content.decode()
    steps = re.findall(r'data-step="(\w+)">(.*?)</span>\n</li>', html, flags=re.S)
    assert [(m, " ".join(re.sub(r"<[^>]+>", "", v).split())) for m, v in steps] == [
        ("visitors", "4"),
        ("add_to_cart", "1 (25.0% of the step before)"),
        ("purchases", "1 (100.0% of the step before)"),
    ]
    tables = _tables(response)
    assert tables["table-sources"][1:] == [
        ["Tessera search", "2", "1", "50.0%", "USD 12.00"],
        ["Direct or unknown", "1", "0", "0.0%", "USD 0.00"],
        ["reddit.com", "1", "0", "0.0%", "USD 0.00"],
    ]
    assert tables["table-search-terms"][1:] == [["modular desk", "1", "2", "1", "USD 12.00"]]
    assert tables["table-previews"][1:] == [["Front", "2", "1", "50.0%"]]
    assert "table-patterns" not in tables
    pattern_csv, text = _csv(owner, f"/sell/insights/patterns/{pattern.pk}/", days="7", table="search_terms")
    assert pattern_csv["Content-Disposition"] == (
        f'attachment; filename="tessera-pattern-{pattern.pk}-search-terms-7d-{today.isoformat()}.csv"'
    )
    assert text == (
        "query,searches that showed it,clicks,visitors,purchases,revenue (USD)\r\nmodular desk,1,2,2,1,12.00\r\n"
    )
    assert (
        owner.get(f"/sell/insights/patterns/{pattern.pk}/", {"format": "csv", "table": "patterns"}).status_code == 400
    )

    # Staff: the marketplace.
    staff = Client()
    staff.force_login(StaffFactory.create())
    response = staff.get("/staff/insights/", {"days": "7"})
    assert response.status_code == 200
    tiles = _tiles(response)
    assert (tiles["revenue"], tiles["purchases"]) == ("USD 12.00", "1")
    assert "GMV (gross sales)" in response.content.decode()
    assert _tables(response)["table-top-queries"][1:] == [
        ["modular desk", "1", "1", "2"],
        ['=HYPERLINK("x")', "0", "0", "1"],
    ]
    assert _csv(staff, "/staff/insights/", days="7", table="top_queries")[1] == (
        'query,searches,visitors,clicks\r\nmodular desk,1,1,2\r\n"\'=HYPERLINK(""x"")",0,0,1\r\n'
    )


def test_pages_need_a_sign_in_and_show_a_pattern_only_to_its_creator_and_staff() -> None:
    pattern = PatternFactory.create()
    draft = PatternFactory.create(status="draft")
    for url in ("/sell/insights/", f"/sell/insights/patterns/{pattern.pk}/", "/staff/insights/"):
        response = Client().get(url, {"days": "7"})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
        csv_response = Client().get(url, {"format": "csv", "table": "sources"})
        assert csv_response.status_code == 302
    stranger = Client()
    stranger.force_login(UserFactory.create())
    assert stranger.get(f"/sell/insights/patterns/{pattern.pk}/").status_code == 404  # another creator's
    assert (
        stranger.get(f"/sell/insights/patterns/{pattern.pk}/", {"format": "csv", "table": "sources"}).status_code == 404
    )
    assert stranger.get(f"/sell/insights/patterns/{draft.pk}/").status_code == 404
    assert stranger.get("/sell/insights/patterns/999999/").status_code == 404
    assert stranger.get("/staff/insights/").status_code == 403
    # A buyer with no patterns: what will appear here, and no figures.
    response = stranger.get("/sell/insights/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your insights will appear here" in html
    assert "insights-tiles" not in html
    assert "<table" not in html
    staff = Client()
    staff.force_login(StaffFactory.create())
    for shown in (pattern, draft):
        response = staff.get(f"/sell/insights/patterns/{shown.pk}/")
        assert response.status_code == 200
        assert "No visits in the last 30 days" in response.content.decode()
    assert staff.get("/staff/insights/").status_code == 200
    plain_staff = Client()
    plain_staff.force_login(UserFactory.create(is_staff=True))  # staff without the catalogue permissions
    assert plain_staff.get("/staff/insights/").status_code == 403
    assert plain_staff.get(f"/sell/insights/patterns/{pattern.pk}/").status_code == 404


def test_a_new_creator_sees_empty_states_and_every_pattern() -> None:
    pattern = PatternFactory.create(title="Brand new lamp")
    owner = Client()
    owner.force_login(pattern.creator)
    response = owner.get("/sell/insights/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No visits in the last 30 days" in html
    assert _tiles(response)["views"] == "0"
    assert _tables(response)["table-patterns"][1:] == [["Brand new lamp", "0", "0", "0", "0", "0.0%", "USD 0.00"]]
    assert "insights-chart" not in html  # no empty charts
    response = owner.get(f"/sell/insights/patterns/{pattern.pk}/")
    assert "No visits in the last 30 days" in response.content.decode()
    _, text = _csv(owner, "/sell/insights/", table="sources")
    assert text == "source,visitors,views,purchases,conversion,revenue (USD),net (USD)\r\n"
    staff = Client()
    staff.force_login(StaffFactory.create())
    assert "No activity in the last 30 days" in staff.get("/staff/insights/").content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"days": "5"},
        {"days": "abc"},
        {"days": "-7"},
        {"days": "0"},
        {"format": "xml"},
        {"format": "csv", "table": "nope"},
        {"format": "csv"},
    ],
)
def test_a_bad_period_format_or_table_is_a_400_as_in_the_api(params: dict[str, str]) -> None:
    pattern = PatternFactory.create()
    owner = Client()
    owner.force_login(pattern.creator)
    staff = Client()
    staff.force_login(StaffFactory.create())
    for client, url in (
        (owner, "/sell/insights/"),
        (owner, f"/sell/insights/patterns/{pattern.pk}/"),
        (staff, "/staff/insights/"),
    ):
        response = client.get(url, params)
        assert response.status_code == 400, url
        assert response["Content-Type"].startswith("text/html")
        assert 'role="alert"' in response.content.decode()
    assert owner.get("/sell/insights/", {"days": "365"}).context["days"] == 365
    assert owner.get("/sell/insights/").context["days"] == 30


def _shop_with(patterns: int) -> Any:
    """A creator with ``patterns`` patterns, each with a visit, a preview view and a paid order."""
    creator = UserFactory.create()
    for n in range(patterns):
        pattern = PatternFactory.create(creator=creator, price=500)
        visitor = _browser()
        buyer = UserFactory.create()
        visitor.force_login(buyer)
        assert visitor.get(f"/p/{pattern.slug}/", HTTP_REFERER=f"https://site{n}.example/").status_code == 200
        preview = Preview.objects.create(pattern=pattern, pattern_file=pattern.files.get(), image=f"previews/{n}.png")
        seen = {"type": "previews", "pattern": pattern.pk, "previews": [preview.pk]}
        assert visitor.post("/t/", json.dumps(seen), content_type="application/json").status_code == 204
        order = OrderFactory.create(buyer=buyer, amount=500)
        order_item_add(order=order, pattern=pattern)
        _pay(order, country="FR", event_id=f"evt_q{creator.pk}_{n}")
    PatternFactory.create(creator=creator, status="draft")  # and one without traffic
    events_drain()
    outbox_drain()
    rollup_refresh()
    return creator


def test_the_dashboard_reads_a_fixed_number_of_queries_whatever_the_number_of_patterns(
    django_assert_num_queries: Any,
) -> None:
    for count in (1, 4):
        creator = _shop_with(count)
        owner = Client()
        owner.force_login(creator)
        owner.get("/sell/insights/")  # the session's first read
        with django_assert_num_queries(13):
            response = owner.get("/sell/insights/", {"days": "30"})
        assert len(_tables(response)["table-patterns"]) == count + 2
        assert len(_tables(response)["table-previews"]) == count + 1


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20", "'+44 20"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("desk = table", "desk = table"),
        ("", ""),
        (-3, -3),
    ],
)
def test_csv_text_cells_that_a_spreadsheet_would_run_get_a_quote(cell: Any, written: Any) -> None:
    from analytics.dashboard import safe_cell

    assert safe_cell(cell) == written
