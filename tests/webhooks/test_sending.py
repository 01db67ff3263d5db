"""Sending one delivery to a real HTTP receiver on this machine: signatures, the retry schedule, Retry-After, 410,
five days of failures, redirects, timeouts and the SSRF guard at send time."""

from __future__ import annotations

import json
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.factories import UserFactory
from tests.webhooks.conftest import Receiver, Reply
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Endpoint


def _endpoint(receiver: Receiver, **fields: Any) -> Endpoint:
    owner = fields.pop("owner", None) or UserFactory.create()
    with transaction.atomic():
        return services.endpoint_create(owner=owner, url=receiver.url, events=["order.paid"], **fields)


def _test_delivery(endpoint: Endpoint) -> Delivery:
    with transaction.atomic():
        return services.delivery_create_test(endpoint=endpoint)


def _send(delivery: Delivery) -> services.SendOutcome:
    Delivery.objects.filter(pk=delivery.pk, status="pending").update(next_attempt_at=timezone.now())
    return services.delivery_send(delivery_id=delivery.pk)


@pytest.mark.django_db
def test_a_delivery_is_signed_per_standard_webhooks_and_verifies(receiver: Receiver) -> None:
    endpoint = _endpoint(receiver)
    delivery = _test_delivery(endpoint)
    outcome = _send(delivery)
    assert (outcome.sent, outcome.status) == (True, "delivered")
    [request] = receiver.wait_for(1)
    assert request.path == "/hooks/tessera"
    assert request.headers["webhook-id"] == f"msg_{delivery.event_uuid.hex}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["webhook-signature"].startswith("v1,")
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["endpoint_id"] == endpoint.pk
    assert set(payload) == {"type", "timestamp", "data"}
    with pytest.raises(WebhookVerificationError):
        Webhook(services.secret_generate()).verify(request.body, request.headers)
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.status_code, attempt.response_excerpt, attempt.error, attempt.next_retry_at) == (
        200,
        "ok",
        "",
        None,
    )


@pytest.mark.django_db
def test_after_rotation_both_secrets_sign_for_24_hours_then_only_the_new_one(receiver: Receiver) -> None:
    endpoint = _endpoint(receiver)
    old_secret = endpoint.secret
    services.endpoint_rotate_secret(endpoint=endpoint)
    new_secret = endpoint.secret
    _send(_test_delivery(endpoint))
    [request] = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old_secret).verify(request.body, request.headers)["type"] == "webhook.test"
    assert Webhook(new_secret).verify(request.body, request.headers)["type"] == "webhook.test"

    Endpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    _send(_test_delivery(Endpoint.objects.get(pk=endpoint.pk)))
    request = receiver.wait_for(2)[1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(request.body, request.headers)


def test_the_retry_schedule_is_the_standard_one_with_jitter() -> None:
    expected = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    assert list(services.RETRY_SCHEDULE_SECONDS) == expected
    for attempts, seconds in enumerate(expected[1:], start=1):
        for _ in range(20):
            delay = services.retry_delay(attempts=attempts)
            assert delay is not None
            assert seconds * 0.9 <= delay.total_seconds() <= seconds * 1.1
    assert services.retry_delay(attempts=8) is None


@pytest.mark.django_db
def test_a_refused_attempt_is_retried_with_the_same_id_and_body_then_gives_up(receiver: Receiver) -> None:
    receiver.script(Reply(status=500, body=b"boom " * 400))
    endpoint = _endpoint(receiver)
    delivery = _test_delivery(endpoint)
    before = timezone.now()
    outcome = _send(delivery)
    assert outcome.status == "pending"
    assert outcome.retry_in is not None
    assert 4.5 <= outcome.retry_in <= 5.5
    delivery.refresh_from_db()
    assert delivery.attempt_count == 1
    assert delivery.last_status_code == 500
    assert delivery.next_attempt_at is not None
    assert before + timedelta(seconds=4.4) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=5.6)
    attempt = DeliveryAttempt.objects.get()
    assert len(attempt.response_excerpt) == 1024
    assert attempt.next_retry_at == delivery.next_attempt_at
    # Not due yet: a stray task sends nothing.
    assert services.delivery_send(delivery_id=delivery.pk).sent is False
    for _ in range(7):
        _send(delivery)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.next_attempt_at) == ("failed", 8, None)
    requests = receiver.wait_for(8)
    assert len(requests) == 8
    assert {request.headers["webhook-id"] for request in requests} == {delivery.webhook_id}
    assert {request.body for request in requests} == {delivery.body.encode()}
    assert _send(delivery).sent is False


@pytest.mark.django_db
@pytest.mark.parametrize("as_date", [False, True])
def test_retry_after_is_honoured_in_seconds_or_as_a_date_and_capped(
    settings, receiver: Receiver, as_date: bool
) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_WEBHOOK_RETRY_AFTER_MAX_SECONDS = 3600
    later = format_datetime(timezone.now() + timedelta(seconds=120), usegmt=True) if as_date else "120"
    receiver.script(
        Reply(status=429, headers={"Retry-After": later}), Reply(status=503, headers={"Retry-After": "999999"})
    )
    delivery = _test_delivery(_endpoint(receiver))
    outcome = _send(delivery)
    assert outcome.retry_in is not None
    assert 115 <= outcome.retry_in <= 121
    outcome = _send(delivery)
    assert outcome.retry_in == 3600  # capped, not 11 days
    delivery.refresh_from_db()
    assert delivery.attempt_count == 2


@pytest.mark.django_db
def test_410_gone_disables_the_endpoint_fails_its_pending_deliveries_and_tells_the_owner(receiver: Receiver) -> None:
    receiver.script(Reply(status=410, body=b"gone"))
    owner = UserFactory.create(email="mira@example.com")
    endpoint = _endpoint(receiver, owner=owner)
    first, second = _test_delivery(endpoint), _test_delivery(endpoint)
    outcome = _send(first)
    assert (outcome.sent, outcome.status, outcome.retry_in) == (True, "failed", None)
    endpoint.refresh_from_db()
    assert endpoint.status == "disabled"
    assert "410 Gone" in endpoint.disabled_reason
    second.refresh_from_db()
    assert (second.status, second.last_error) == ("failed", "The endpoint was disabled.")
    assert _send(second).sent is False
    assert len(receiver.requests) == 1
    [message] = mail.outbox
    assert message.to == ["mira@example.com"]
    assert "410 Gone" in message.body
    assert endpoint.url in message.body


@pytest.mark.django_db
def test_five_days_of_failures_disable_the_endpoint_and_tell_the_owner(receiver: Receiver) -> None:
    receiver.script(Reply(status=502))
    owner = UserFactory.create(email="kai@example.com")
    endpoint = _endpoint(receiver, owner=owner)
    _send(_test_delivery(endpoint))
    endpoint.refresh_from_db()
    assert endpoint.status == "active"
    first_failure = endpoint.failing_since
    assert first_failure is not None
    _send(_test_delivery(endpoint))
    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.failing_since) == ("active", first_failure)  # the clock is not restarted
    assert mail.outbox == []
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=5, minutes=1))
    _send(_test_delivery(endpoint))
    endpoint.refresh_from_db()
    assert endpoint.status == "disabled"
    assert "5 days" in endpoint.disabled_reason
    [message] = mail.outbox
    assert message.to == ["kai@example.com"]
    # A success in between restarts the clock.
    receiver.script(Reply(status=200))
    services.endpoint_update(endpoint=endpoint, status="active")
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=4))
    _send(_test_delivery(Endpoint.objects.get(pk=endpoint.pk)))
    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.failing_since) == ("active", None)


@pytest.mark.django_db
def test_redirects_are_not_followed(receiver: Receiver, make_receiver: Any) -> None:
    elsewhere = make_receiver()
    receiver.script(Reply(status=302, headers={"Location": elsewhere.url}))
    delivery = _test_delivery(_endpoint(receiver))
    outcome = _send(delivery)
    assert outcome.status == "pending"
    assert len(receiver.requests) == 1
    assert elsewhere.requests == []
    assert DeliveryAttempt.objects.get().status_code == 302


@pytest.mark.django_db
def test_a_slow_receiver_is_cut_off_at_the_timeout(settings, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.script(Reply(status=200, delay=3))
    delivery = _test_delivery(_endpoint(receiver))
    outcome = _send(delivery)
    assert outcome.status == "pending"
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None
    assert attempt.error == "timed out after 1 s"
    assert 900 <= attempt.latency_ms < 2000


@pytest.mark.django_db
def test_the_ssrf_guard_runs_again_at_send_time(settings, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    endpoint = _endpoint(receiver)
    assert endpoint.url.startswith("http://127.0.0.1:")
    Endpoint.objects.filter(pk=endpoint.pk).update(url=endpoint.url.replace("http://127.0.0.1", "https://localhost"))
    delivery = _test_delivery(endpoint)
    # The name was fine when registered; by the time of sending it resolves to this machine (DNS rebinding).
    settings.TESSERA_WEBHOOKS_ALLOW_PRIVATE = False
    outcome = _send(delivery)
    assert outcome.status == "pending"
    assert receiver.requests == []
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None
    assert attempt.error.startswith("Refused by the SSRF guard: ")
    assert "a loopback address" in attempt.error


@pytest.mark.django_db
def test_the_body_sent_is_the_stored_json(receiver: Receiver) -> None:
    delivery = _test_delivery(_endpoint(receiver))
    _send(delivery)
    [request] = receiver.wait_for(1)
    body = json.loads(request.body)
    assert body["timestamp"].endswith("Z")
    assert request.body.decode() == delivery.body


@pytest.fixture
def tls_receiver(receiver: Receiver, tmp_path: Any) -> tuple[Receiver, str]:
    """The receiver behind TLS with a certificate for ``localhost`` from a throwaway CA; returns the CA file."""
    import ssl
    import subprocess

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
            "-subj", "/CN=Test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "host.key", "-out", "host.csr", "-subj", "/CN=localhost")
    (tmp_path / "ext.cnf").write_text("subjectAltName=DNS:localhost\n")
    openssl("x509", "-req", "-in", "host.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "host.pem", "-days", "1", "-extfile", "ext.cnf")  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "host.pem", tmp_path / "host.key")
    assert receiver.server is not None
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    return receiver, str(tmp_path / "ca.pem")


@pytest.mark.django_db
def test_https_checks_the_certificate_against_the_name_while_connecting_to_the_checked_address(
    tls_receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, ca_file = tls_receiver
    port = receiver.url.split(":")[2].split("/")[0]
    endpoint = _endpoint(receiver)
    Endpoint.objects.filter(pk=endpoint.pk).update(url=f"https://localhost:{port}/hooks/tessera")
    endpoint.refresh_from_db()
    # A certificate no trusted authority signed: refused, nothing sent.
    untrusted = _test_delivery(endpoint)
    assert _send(untrusted).status == "pending"
    assert "CERTIFICATE_VERIFY_FAILED" in DeliveryAttempt.objects.get(delivery=untrusted).error
    assert receiver.requests == []
    # Trusted (the CA in the default store): delivered, with the name in SNI and the Host header.
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    trusted = _test_delivery(endpoint)
    assert _send(trusted).status == "delivered"
    [request] = receiver.wait_for(1)
    assert request.headers["Host"] == f"localhost:{port}"
    Webhook(endpoint.secret).verify(request.body, request.headers)


@pytest.mark.django_db
def test_the_sweep_enqueues_overdue_deliveries_that_were_never_enqueued(receiver: Receiver) -> None:
    from marketplace.broker import broker_client

    redis = broker_client()
    redis.delete("webhooks")
    endpoint = _endpoint(receiver)
    overdue = _test_delivery(endpoint)  # in this test's transaction: its on-commit enqueue never runs
    just_due = _test_delivery(endpoint)
    Delivery.objects.filter(pk=overdue.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=2))
    Delivery.objects.filter(pk=just_due.pk).update(next_attempt_at=timezone.now())
    disabled = _endpoint(receiver)
    stranded = _test_delivery(disabled)
    Delivery.objects.filter(pk=stranded.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=2))
    Endpoint.objects.filter(pk=disabled.pk).update(status="disabled")
    # Queued a minute ago (a retry counting down, or waiting in a backlog): on its way, left alone.
    on_its_way = _test_delivery(endpoint)
    Delivery.objects.filter(pk=on_its_way.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=2), enqueued_at=timezone.now() - timedelta(minutes=1)
    )
    # Queued 20 minutes ago and never run: lost.
    lost = _test_delivery(endpoint)
    Delivery.objects.filter(pk=lost.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=20), enqueued_at=timezone.now() - timedelta(minutes=20)
    )
    try:
        assert services.deliveries_sweep() == 2
        assert redis.llen("webhooks") == 2
        messages = [json.loads(raw) for raw in redis.lrange("webhooks", 0, -1)]
        assert {message["headers"]["task"] for message in messages} == {"webhooks.tasks.delivery_send"}
        assert {message["headers"]["argsrepr"] for message in messages} == {f"({overdue.pk},)", f"({lost.pk},)"}
        assert Delivery.objects.filter(pk__in=[overdue.pk, lost.pk], enqueued_at__isnull=False).count() == 2
        assert services.deliveries_sweep() == 0  # now on their way
    finally:
        redis.delete("webhooks")
