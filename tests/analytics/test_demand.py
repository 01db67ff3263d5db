"""Demand gaps and trends (issue 13): searches nobody's pattern answers, grouped by meaning, shown only when at
least five people made them; the API, the page and the opt-in weekly digest."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.demand.digest import demand_digests_record
from analytics.demand.normalise import term_key
from analytics.demand.report import demand_report
from analytics.demand.rollup import demand_rollup
from analytics.demand.trends import trend
from analytics.models import DemandDay, DemandDigest, DemandSearcher, DemandTerm, Event
from analytics.services import events_drain
from catalog.embeddings import embed_texts, pattern_document
from catalog.models import Category, CreatorProfile
from marketplace.events.services import outbox_drain
from marketplace.tracking import SearchPerformed, track
from notifications import services as notification_services
from notifications.models import Notification, OutgoingEmail
from tests.factories import PatternFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.now().astimezone(UTC).date()


def search(query: str, *, visitor: str, results: int = 0, category: str = "", at: datetime | None = None) -> None:
    """One search as the search page tracks it (through the tracking queue and Redis)."""
    track(
        SearchPerformed(
            visitor=visitor,
            path="/search/",
            query=query,
            result_count=results,
            low_results=results < 3,
            category=category,
            at=at or timezone.now(),
        )
    )


def click(query: str, *, visitor: str, pattern_id: int, at: datetime) -> None:
    """A click on a search result, as insights' click tracking writes it (kind ``search_click``)."""
    Event.objects.create(kind="search_click", query=query, visitor=visitor, pattern_id=pattern_id, created_at=at)


def rolled_up() -> None:
    """What the beat schedule does: drain the tracked events, rebuild today's rollups."""
    events_drain()
    demand_rollup(days=1)


def creator_client(**kwargs: Any) -> tuple[Any, APIClient]:
    creator = UserFactory.create(**kwargs)
    CreatorProfile.objects.create(user=creator, display_name=creator.username)
    client = APIClient()
    client.force_authenticate(creator)
    return creator, client


def test_five_people_searching_for_what_nobody_sells_appear_and_four_do_not() -> None:
    PatternFactory.create(title="Ceramic moon lamp")
    for n in range(5):
        person = Client()
        person.force_login(UserFactory.create(username=f"hover{n}"))
        assert person.get("/search/", {"q": "Hovercraft kit"}).status_code == 200
    for n in range(4):
        search("zeppelin dock", visitor=f"zeppelin{n}")
    # One person searching five times is one person: not shown either.
    for _ in range(5):
        search("bagpipe reed", visitor="same-visitor")
    rolled_up()

    assert [(row["query"], row["searches"], row["searchers"], row["results"]) for row in demand_report(days=7)] == [
        ("hovercraft kit", 5, 5, 0)
    ]
    # The rollups hold no visitor id or user id in clear.
    assert not DemandSearcher.objects.filter(searcher__in=["same-visitor", "v:same-visitor"]).exists()
    assert DemandSearcher.objects.filter(term__key="bagpipe reed").count() == 1


def test_wording_variants_are_one_row_labelled_with_the_most_frequent_wording() -> None:
    wordings = ["modular desks", "Modular Desks", "modular desks ", "Modular Desk", "modular-desk!", "desk, modular"]
    for n, query in enumerate(wordings):
        search(query, visitor=f"desk{n}")
    for n in range(5):
        search("phone stand", visitor=f"phone{n}")
        search("tablet stands", visitor=f"tablet{n}")
    rolled_up()

    assert term_key("Modular-Desks!") == term_key("modular desk") == "modular desk"
    rows = {row["query"]: (row["searches"], row["searchers"]) for row in demand_report(days=7)}
    # "desk modular" is another term, grouped with "modular desk" by meaning (MiniLM); the stands are not alike
    # enough to be one.
    assert rows == {"modular desks": (6, 6), "phone stand": (5, 5), "tablet stands": (5, 5)}
    desk_group = DemandTerm.objects.get(key="modular desk").group_id
    assert DemandTerm.objects.get(key="desk modular").group_id == desk_group
    assert DemandTerm.objects.get(key="tablet stand").group_id != DemandTerm.objects.get(key="phone stand").group_id


def test_a_query_whose_results_were_clicked_is_not_a_gap() -> None:
    tote = PatternFactory.create(title="Tote bag")
    now = timezone.now() - timedelta(hours=2)
    for n in range(5):
        search("tote bags", visitor=f"tote{n}", results=4, at=now)
        click("Tote bag", visitor=f"tote{n}", pattern_id=tote.pk, at=now + timedelta(minutes=3))
        # Results shown, but the only click came 45 minutes later (another visit): unmet.
        search("weaving loom", visitor=f"loom{n}", results=3, at=now)
        click("weaving loom", visitor=f"loom{n}", pattern_id=tote.pk, at=now + timedelta(minutes=45))
    events_drain()
    call_command("demand_rollup", days=1, stdout=io.StringIO())

    assert [(row["query"], row["searches"], row["searchers"], row["results"]) for row in demand_report(days=7)] == [
        ("weaving loom", 5, 5, 3)
    ]
    tote_day = DemandDay.objects.get(term__key="tote bag")
    assert (tote_day.searches, tote_day.unmet) == (5, 0)


def test_the_api_shape_periods_categories_and_who_may_read_it(django_assert_num_queries: Any) -> None:
    for n in range(5):
        search("hovercraft kit", visitor=f"h{n}", category="3d-printing")
        search("lace collar", visitor=f"l{n}")
    rolled_up()
    _, client = creator_client()

    response = client.get("/api/v1/insights/demand/", {"days": 7})
    assert response.status_code == 200
    rising_today = {"growth": 5.0, "rising": True, "change_point": TODAY.isoformat()}
    assert response.json() == [
        {"query": "hovercraft kit", "searches": 5, "searchers": 5, "results": 0, "trend": rising_today},
        {"query": "lace collar", "searches": 5, "searchers": 5, "results": 0, "trend": rising_today},
    ]
    assert [row["query"] for row in client.get("/api/v1/insights/demand/?days=30&category=3d-printing").json()] == [
        "hovercraft kit"
    ]
    assert client.get("/api/v1/insights/demand/?days=365&category=sewing-knitting").json() == []
    # A creator is also whoever uploaded a pattern, without a shop profile.
    uploader = PatternFactory.create(status="draft").creator
    as_uploader = APIClient()
    as_uploader.force_authenticate(uploader)
    assert as_uploader.get("/api/v1/insights/demand/").status_code == 200

    for bad in ({"days": 8}, {"days": "week"}, {"category": "no-such-category"}, {"category": "../x"}):
        answer = client.get("/api/v1/insights/demand/", bad)
        assert answer.status_code == 400, bad
        assert set(answer.json()) == set(bad)
    assert APIClient().get("/api/v1/insights/demand/").status_code == 401
    buyer = APIClient()
    buyer.force_authenticate(UserFactory.create())
    refused = buyer.get("/api/v1/insights/demand/")
    assert refused.status_code == 403
    assert "creators" in refused.json()["detail"]

    # The same number of queries whatever the number of rows: the creator check and two rollup aggregates.
    with django_assert_num_queries(3):
        assert len(client.get("/api/v1/insights/demand/").json()) == 2
    for n in range(5):
        for query in ("kite spool", "yarn swift", "bobbin winder"):
            search(query, visitor=f"more{n}")
    rolled_up()
    with django_assert_num_queries(3):
        assert len(client.get("/api/v1/insights/demand/").json()) == 5


def test_the_page_shows_the_table_to_creators_and_explains_the_empty_report() -> None:
    creator, _ = creator_client()
    page = Client()
    page.force_login(creator)
    empty = page.get("/sell/insights/demand/")
    assert empty.status_code == 200
    assert "at least 5 different people" in empty.content.decode()

    for n in range(5):
        search("hovercraft kit", visitor=f"h{n}")
    rolled_up()
    shown = page.get("/sell/insights/demand/?days=30").content.decode()
    assert '<th scope="row">hovercraft kit</th>' in shown
    assert page.get("/sell/insights/demand/?days=12").status_code == 400

    buyer = Client()
    buyer.force_login(UserFactory.create())
    assert buyer.get("/sell/insights/demand/").status_code == 403
    assert Client().get("/sell/insights/demand/").status_code == 302


def test_the_weekly_digest_reaches_an_opted_in_creator_once_a_week_and_no_one_else() -> None:
    keen = UserFactory.create(username="keen", email="keen@example.com")
    quiet = UserFactory.create(username="quiet", email="quiet@example.com")
    knitter = UserFactory.create(username="knitter", email="knitter@example.com")
    PatternFactory.create(creator=keen, title="Benchy")
    PatternFactory.create(creator=quiet, title="Vase")
    hat = PatternFactory.create(
        creator=knitter, title="Crochet sun hat", category=Category.objects.get(slug="sewing-knitting")
    )
    hat.text_embedding = embed_texts([pattern_document(title=hat.title, description="", tags=[], category="Sewing")])[0]
    hat.save(update_fields=["text_embedding"])
    assert notification_services.preferences_for(user=keen)["demand.digest"] is False  # opt-in: off by default
    notification_services.preference_set(user=keen, type="demand.digest", enabled=True)
    notification_services.preference_set(user=knitter, type="demand.digest", enabled=True)
    for n in range(5):
        search("hovercraft kit", visitor=f"h{n}", category="3d-printing")
        # No category filter: the term's nearest patterns (the page's close ideas) are sewing and knitting ones.
        search("knitted beanie", visitor=f"b{n}", results=1)
    rolled_up()
    assert DemandTerm.objects.get(key="knitted beanie").category == "sewing-knitting"

    assert demand_digests_record(today=TODAY) == 3
    assert demand_digests_record(today=TODAY) == 0  # the task ran twice this week
    outbox_drain()
    outbox_drain()

    digests = Notification.objects.filter(type="demand.digest").order_by("recipient_id")
    assert [(n.recipient_id, n.url) for n in digests] == [
        (keen.pk, "/sell/insights/demand/"),
        (knitter.pk, "/sell/insights/demand/"),
    ]
    assert digests[0].message == (
        "In the last 7 days buyers searched your categories for what nobody sells: “hovercraft kit” (5 people, "
        "0 results)."
    )
    assert "“knitted beanie” (5 people, 1 result)." in digests[1].message
    assert "hovercraft" not in digests[1].message
    email = OutgoingEmail.objects.get(notification__recipient=keen)
    assert email.to == "keen@example.com"
    assert notification_services.email_send(email_id=email.pk) == "sent"
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (
            ["keen@example.com"],
            "Tessera: Weekly digest: what buyers searched for in your categories and nobody sells (creators)",
        )
    ]

    next_week = TODAY + timedelta(days=7)
    DemandDay.objects.update(day=next_week)
    DemandSearcher.objects.update(day=next_week)
    assert demand_digests_record(today=next_week) == 3
    outbox_drain()
    assert Notification.objects.filter(type="demand.digest", recipient=keen).count() == 2
    assert not Notification.objects.filter(recipient=quiet).exists()
    assert DemandDigest.objects.count() == 6


def test_trends_of_sparse_counts() -> None:
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(14)]
    assert trend([1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], days, rising_growth=0.5) == {
        "growth": 0.0,
        "rising": False,
        "change_point": None,
    }
    assert trend([0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 4, 2, 5, 6], days, rising_growth=0.5) == {
        "growth": 21.0,
        "rising": True,
        "change_point": "2026-11-09",
    }
    # Two searches more are not a trend.
    assert trend([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1], days, rising_growth=0.5)["rising"] is False
