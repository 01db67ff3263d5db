"""The account page for webhooks: the same operations as the API, in a browser."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.browser import assert_no_sideways_scroll, axe_violations, launch, needs_chromium, screenshot
from tests.factories import UserFactory
from webhooks.models import Delivery, DeliveryAttempt, Endpoint

LIST = "/account/webhooks/"


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_creator_adds_an_endpoint_and_sees_the_secret_once() -> None:
    creator = UserFactory.create()
    client = _signed_in(creator)
    page = client.get(LIST)
    assert page.status_code == 200
    assert b"No endpoints yet" in page.content
    assert b'value="order.paid"' in page.content
    assert b"entitlement.granted" not in page.content  # staff only

    added = client.post(LIST, {"url": "http://127.0.0.1:8649/hook", "events": ["order.paid", "payout.paid"]})
    endpoint = Endpoint.objects.get()
    assert added.status_code == 302
    assert added["Location"] == f"/account/webhooks/{endpoint.pk}/"
    assert (endpoint.owner, endpoint.events) == (creator, ["order.paid", "payout.paid"])
    detail = client.get(added["Location"])
    assert endpoint.secret.encode() in detail.content
    again = client.get(added["Location"])
    assert endpoint.secret.encode() not in again.content
    assert b"Nothing sent yet" in again.content
    assert endpoint.url.encode() in client.get(LIST).content


@pytest.mark.django_db
def test_bad_input_is_explained_and_nothing_is_saved(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_WEBHOOKS_ALLOW_PRIVATE = False
    client = _signed_in(UserFactory.create())
    refused = client.post(LIST, {"url": "https://10.0.0.7/hook", "events": ["order.paid"]})
    assert refused.status_code == 400
    assert b"resolves to 10.0.0.7, a private network address" in refused.content
    no_events = client.post(LIST, {"url": "https://10.0.0.7/hook"})
    assert no_events.status_code == 400
    assert b"Choose at least one event." in no_events.content
    not_offered = client.post(LIST, {"url": "https://10.0.0.7/hook", "events": ["leak.traced"]})
    assert not_offered.status_code == 400
    assert Endpoint.objects.count() == 0


@pytest.mark.django_db
def test_edit_rotate_test_turn_off_replay_and_delete() -> None:
    creator = UserFactory.create()
    client = _signed_in(creator)
    client.post(LIST, {"url": "http://127.0.0.1:8649/hook", "events": ["order.paid"]})
    endpoint = Endpoint.objects.get()
    base = f"/account/webhooks/{endpoint.pk}/"

    saved = client.post(base, {"url": endpoint.url, "events": ["pattern.published"], "description": "Shop"})
    assert saved.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.description) == (["pattern.published"], "Shop")

    old_secret = endpoint.secret
    client.post(f"{base}rotate/")
    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret
    assert endpoint.previous_secret == old_secret
    assert endpoint.secret.encode() in client.get(base).content

    client.post(f"{base}test/")
    delivery = Delivery.objects.get()
    assert delivery.event_type == "webhook.test"
    delivery.status = "failed"
    delivery.attempt_count = 8
    delivery.save()
    DeliveryAttempt.objects.create(
        delivery=delivery, attempted_at=timezone.now(), status_code=503, latency_ms=42, response_excerpt="down"
    )
    page = client.get(base).content.decode()
    assert "webhook.test" in page
    assert "503" in page
    assert "42 ms" in page
    assert "Replay" in page
    client.post(f"{base}deliveries/{delivery.pk}/replay/")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("pending", 0)

    client.post(f"{base}status/", {"status": "disabled"})
    endpoint.refresh_from_db()
    assert endpoint.status == "disabled"
    assert "Turn it back on" in client.get(base).content.decode()
    client.post(f"{base}status/", {"status": "active"})
    endpoint.refresh_from_db()
    assert endpoint.status == "active"

    stranger = _signed_in(UserFactory.create())
    assert stranger.get(base).status_code == 404
    assert stranger.post(f"{base}delete/").status_code == 404
    assert stranger.post(f"{base}rotate/").status_code == 404
    assert Endpoint.objects.filter(pk=endpoint.pk, secret=endpoint.secret).exists()
    assert Client().get(LIST).status_code == 302

    deleted = client.post(f"{base}delete/")
    assert deleted["Location"] == LIST
    assert Endpoint.objects.count() == 0


@needs_chromium
def test_the_webhook_pages_fit_a_phone_and_pass_axe(live_server: Any) -> None:
    creator = UserFactory.create(username="wendy")
    endpoint = Endpoint.objects.create(
        owner=creator,
        url="https://hooks.example-shop.com/tessera/incoming/webhooks/with/a/long/path",
        events=["order.paid", "pattern.published"],
        description="Shop sync",
        secret="whsec_dGVzdA==",
    )
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        event_uuid="6f0c0b0e-0000-4000-8000-000000000001",
        event_type="order.paid",
        webhook_id="msg_6f0c0b0e000040008000000000000001",
        body="{}",
        status="failed",
        attempt_count=8,
    )
    DeliveryAttempt.objects.create(delivery=delivery, status_code=500, latency_ms=120, response_excerpt="oops")
    with launch() as browser:
        for width in (390, 1366):
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto(f"{live_server.url}/accounts/login/")
            page.fill("input[name=login]", "wendy")
            page.fill("input[name=password]", "secret-pass-123")
            page.click("form button[type=submit]")
            page.wait_for_url(f"{live_server.url}/")
            for name, path in (("list", "/account/webhooks/"), ("detail", f"/account/webhooks/{endpoint.pk}/")):
                page.goto(f"{live_server.url}{path}")
                assert page.locator("h1").count() == 1
                assert_no_sideways_scroll(page)
                assert axe_violations(page) == []
                screenshot(page, f"webhooks-{name}-{width}")
            context.close()
