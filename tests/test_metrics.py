"""/metrics: Prometheus text with every Tessera family, exact values after known actions, access rules."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from prometheus_client.parser import text_string_to_metric_families

from marketplace.broker import broker_client, queue_keys
from payments.models import Order
from tests import samples
from tests.conftest import token_client
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

FAMILIES = {
    "django_http_requests_latency_seconds_by_view_method",
    "django_http_responses_total_by_status_view_method",
    "tessera_queue_depth",
    "tessera_broker_up",
    "tessera_celery_tasks",
    "tessera_uploads",
    "tessera_orders",
    "tessera_outbox_backlog",
    "tessera_stripe_webhooks",
    "tessera_downloads",
}


def scrape(client: Any, **headers: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples_by_key = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples_by_key[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples_by_key


def value(scraped: dict[Any, float], name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def empty_queues() -> Iterator[None]:
    keys = [key for queue in settings.TESSERA_CELERY_QUEUES for key in queue_keys(queue)]
    broker_client().delete(*keys)
    yield
    broker_client().delete(*keys)


def test_every_family_is_exposed_in_prometheus_text(client: Any, empty_queues: None) -> None:
    client.get("/")
    response = client.get("/metrics")
    assert response.status_code == 200
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert FAMILIES <= names, FAMILIES - names


def test_counters_move_by_exactly_what_happened(client: Any, empty_queues: None) -> None:
    creator = UserFactory.create()
    api = token_client(creator)
    before = scrape(client)

    refused = api.post(
        "/api/v1/patterns/",
        {
            "title": "Bad",
            "price": 0,
            "currency": "USD",
            "licence": "cc0",
            "files": [SimpleUploadedFile("a.stl", b"no")],
        },
        format="multipart",
    )
    assert refused.status_code == 400
    accepted = api.post(
        "/api/v1/patterns/",
        {
            "title": "Cube",
            "price": 0,
            "currency": "USD",
            "licence": "cc0",
            "files": [SimpleUploadedFile("cube.stl", samples.stl_cube())],
        },
        format="multipart",
    )
    assert accepted.status_code == 201
    payload = json.dumps({"id": "evt_metrics", "type": "customer.created", "data": {"object": {}}}).encode()
    timestamp = int(time.time())
    digest = hmac.new(
        settings.STRIPE_WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    signed = client.post(
        "/api/v1/stripe/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={digest}",
    )
    assert signed.json()["outcome"] == "ignored"
    forged = client.post(
        "/api/v1/stripe/webhook/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00"
    )
    assert forged.status_code == 400
    client.force_login(creator)
    assert client.get("/download/not-a-token/").status_code == 404
    client.logout()
    assert client.get("/").status_code == 200

    after = scrape(client)
    assert (
        value(after, "tessera_uploads_total", verdict="refused")
        == value(before, "tessera_uploads_total", verdict="refused") + 1
    )
    assert (
        value(after, "tessera_uploads_total", verdict="accepted")
        == value(before, "tessera_uploads_total", verdict="accepted") + 1
    )
    for outcome in ("ignored", "invalid-signature"):
        assert (
            value(after, "tessera_stripe_webhooks_total", outcome=outcome)
            == value(before, "tessera_stripe_webhooks_total", outcome=outcome) + 1
        )
    assert (
        value(after, "tessera_downloads_total", outcome="refused")
        == value(before, "tessera_downloads_total", outcome="refused") + 1
    )
    home = {"view": "catalog:home", "method": "GET", "status": "200"}
    assert (
        value(after, "django_http_responses_total_by_status_view_method_total", **home)
        == value(before, "django_http_responses_total_by_status_view_method_total", **home) + 1
    )
    latency = {"view": "catalog:home", "method": "GET"}
    assert (
        value(after, "django_http_requests_latency_seconds_by_view_method_count", **latency)
        == value(before, "django_http_requests_latency_seconds_by_view_method_count", **latency) + 1
    )


def test_orders_by_status_are_counted_at_scrape(client: Any, empty_queues: None) -> None:
    OrderFactory.create_batch(3)
    OrderFactory.create_batch(2, status=Order.Status.PAID)
    OrderFactory.create(status=Order.Status.REFUNDED)
    scraped = scrape(client)
    expected = {status: 0.0 for status in Order.Status.values} | {"pending": 3.0, "paid": 2.0, "refunded": 1.0}
    assert {status: value(scraped, "tessera_orders", status=status) for status in Order.Status.values} == expected


def test_queue_depth_is_the_length_of_every_list_of_the_queue(client: Any, empty_queues: None) -> None:
    from marketplace.celery import app

    for _ in range(3):
        app.send_task("delivery.tasks.nothing", queue="delivery")
    app.send_task("delivery.tasks.nothing", queue="delivery", priority=6)
    app.send_task("ingestion.tasks.nothing", queue="gpu", priority=9)
    redis = broker_client()
    lengths = {queue: sum(redis.llen(key) for key in queue_keys(queue)) for queue in settings.TESSERA_CELERY_QUEUES}
    assert lengths == {
        **{"ingest": 0, "ingest_bulk": 0, "gpu": 1, "delivery": 4, "events": 0, "webhooks": 0},
        **{"notifications": 0, "default": 0},
    }
    assert redis.llen("delivery") == 3  # the prioritised message sits in its own list

    scraped = scrape(client)
    assert {queue: value(scraped, "tessera_queue_depth", queue=queue) for queue in lengths} == lengths
    assert value(scraped, "tessera_broker_up") == 1.0


@pytest.mark.parametrize(
    ("token", "loopback_open", "remote", "authorization", "status"),
    [
        ("", True, "127.0.0.1", "", 200),  # development: open on loopback
        ("", True, "::1", "", 200),
        ("", True, "10.0.0.7", "", 403),
        ("", False, "127.0.0.1", "", 404),  # production without a token: nobody
        ("s3cret", False, "127.0.0.1", "", 403),  # production: loopback is not enough behind a proxy
        ("s3cret", False, "10.0.0.7", "Bearer wrong", 403),
        ("s3cret", False, "10.0.0.7", "Basic s3cret", 403),
        ("s3cret", False, "10.0.0.7", "Bearer s3cret", 200),
    ],
)
def test_access_needs_loopback_in_development_or_the_bearer_token(
    client: Any, settings: Any, token: str, loopback_open: bool, remote: str, authorization: str, status: int
) -> None:
    settings.TESSERA_METRICS_TOKEN = token
    settings.TESSERA_METRICS_LOOPBACK_OPEN = loopback_open
    headers = {"REMOTE_ADDR": remote}
    if authorization:
        headers["HTTP_AUTHORIZATION"] = authorization
    response = client.get("/metrics", **headers)
    assert response.status_code == status
    assert (b"tessera_queue_depth" in response.content) is (status == 200)
