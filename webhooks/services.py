"""Endpoints, their deliveries, and sending them.

Fan-out: the outbox handler (``delivery_create_for_event``) writes one delivery per (event, endpoint that wants it)
in the handler's transaction, so it happens once however often the outbox retries, and enqueues the sends after
commit. Sending (``delivery_send``) claims the delivery, holds one of the endpoint's concurrency slots, signs the
body and POSTs it through the SSRF guard; the attempt is recorded and the next one scheduled:
immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (±10 % jitter), later if the receiver asks (Retry-After).
"""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from marketplace.broker import broker_client, infrastructure_errors, lease_return, lease_take
from marketplace.events.base import DomainEvent
from webhooks import payloads, transport
from webhooks.models import RESPONSE_EXCERPT_CHARS, Delivery, DeliveryAttempt, Endpoint

logger = logging.getLogger(__name__)

# Seconds before each attempt of a delivery: the first at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
RETRY_SCHEDULE_SECONDS = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
JITTER = 0.1
# A worker that took a delivery holds it this long past the request timeout; if it dies, the sweep sends it again.
CLAIM_MARGIN_SECONDS = 30
# The sweep sends what is this overdue: an enqueued send would have run by then.
SWEEP_GRACE_SECONDS = 30
# A delivery whose send task was queued this long ago and has not run is taken for lost (longer than the longest
# countdown a task is queued with, so a retry waiting for its moment is not sent twice).
LOST_AFTER_SECONDS = 900


# --- Secrets and signatures ---------------------------------------------------------------------------------


def secret_generate() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signature_header(*, secrets_: list[str], webhook_id: str, timestamp: datetime, body: str) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` per secret, space-separated."""
    return " ".join(Webhook(secret).sign(webhook_id, timestamp, body) for secret in secrets_)


def webhook_id_for(event_uuid: uuid.UUID) -> str:
    """The message id: the domain event's id, so every retry and replay (and every endpoint) shares it."""
    return f"msg_{event_uuid.hex}"


def body_for(*, event_type: str, at: datetime, data: dict[str, Any]) -> str:
    timestamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": timestamp, "data": data}, separators=(",", ":"))


# --- Endpoints ----------------------------------------------------------------------------------------------


def _clean_events(*, owner: Any, events: list[str]) -> list[str]:
    offered = payloads.event_types_offered(user=owner)
    unknown = [event_type for event_type in events if event_type not in offered]
    if unknown:
        raise ValidationError(
            {
                "events": [
                    f"Not an event type you can receive: {', '.join(sorted(set(unknown)))}. Choose from: "
                    f"{', '.join(offered)}."
                ]
            }
        )
    if not events:
        raise ValidationError({"events": ["Choose at least one event type."]})
    return list(dict.fromkeys(events))


def _clean_url(url: str) -> str:
    try:
        transport.resolve(url)
    except transport.UnsafeURL as exc:
        raise ValidationError({"url": [str(exc)]}) from exc
    return url


def endpoint_create(*, owner: Any, url: str, events: list[str], description: str = "") -> Endpoint:
    """Register an endpoint for ``owner``; the URL is checked by the SSRF guard, the events against what ``owner``
    is offered. Raises ``ValidationError`` (by field) with what to change."""
    if Endpoint.objects.filter(owner=owner).count() >= settings.TESSERA_WEBHOOK_MAX_ENDPOINTS_PER_USER:
        raise ValidationError(
            {
                "url": [
                    f"You have {settings.TESSERA_WEBHOOK_MAX_ENDPOINTS_PER_USER} endpoints, the most allowed; "
                    "delete one first."
                ]
            }
        )
    endpoint = Endpoint(
        owner=owner,
        url=_clean_url(url),
        events=_clean_events(owner=owner, events=events),
        description=description,
        secret=secret_generate(),
    )
    endpoint.full_clean()
    endpoint.save()
    logger.info("webhooks: endpoint %s registered by user %s", endpoint.pk, owner.pk)
    return endpoint


def endpoint_update(
    *,
    endpoint: Endpoint,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    status: str | None = None,
) -> Endpoint:
    """Change what was given. ``status="active"`` re-enables a disabled endpoint (its failure clock restarts)."""
    fields = []
    if url is not None and url != endpoint.url:
        endpoint.url = _clean_url(url)
        fields.append("url")
    if events is not None:
        endpoint.events = _clean_events(owner=endpoint.owner, events=events)
        fields.append("events")
    if description is not None:
        endpoint.description = description
        fields.append("description")
    if status is not None and status != endpoint.status:
        if status not in Endpoint.Status.values:
            raise ValidationError({"status": [f"Use one of: {', '.join(Endpoint.Status.values)}."]})
        endpoint.status = status
        endpoint.disabled_reason = "" if status == Endpoint.Status.ACTIVE else "Disabled by its owner."
        endpoint.failing_since = None
        fields += ["status", "disabled_reason", "failing_since"]
    if fields:
        endpoint.full_clean()
        endpoint.save(update_fields=[*fields, "updated_at"])
    return endpoint


def endpoint_rotate_secret(*, endpoint: Endpoint) -> Endpoint:
    """A new secret; the current one keeps signing next to it for TESSERA_WEBHOOK_PREVIOUS_SECRET_HOURS."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(
        hours=settings.TESSERA_WEBHOOK_PREVIOUS_SECRET_HOURS
    )
    endpoint.secret = secret_generate()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint


def endpoint_delete(*, endpoint: Endpoint) -> None:
    endpoint.delete()


def _endpoint_disable(*, endpoint: Endpoint, reason: str) -> None:
    """Stop sending to ``endpoint`` (its pending deliveries fail; a replay sends them again) and tell its owner."""
    with transaction.atomic():
        locked = Endpoint.objects.select_for_update().select_related("owner").get(pk=endpoint.pk)
        if locked.status == Endpoint.Status.DISABLED:
            return
        locked.status = Endpoint.Status.DISABLED
        locked.disabled_reason = reason[:300]
        locked.save(update_fields=["status", "disabled_reason", "updated_at"])
        Delivery.objects.filter(endpoint=locked, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.FAILED, next_attempt_at=None, last_error="The endpoint was disabled."
        )
        owner_email = locked.owner.email
    logger.warning("webhooks: endpoint %s disabled: %s", endpoint.pk, reason)
    if owner_email:
        send_mail(
            subject="Your Tessera webhook endpoint was disabled",
            message=(
                f"We stopped sending events to {locked.url}.\n\nWhy: {reason}\n\n"
                f"Fix the receiver, then turn the endpoint back on at {settings.SITE_URL}/account/webhooks/"
                f"{locked.pk}/ (you can replay the deliveries it missed there)."
            ),
            from_email=None,
            recipient_list=[owner_email],
            fail_silently=True,
        )


# --- Deliveries ---------------------------------------------------------------------------------------------


def delivery_create_for_event(event: DomainEvent) -> list[Delivery]:
    """The outbox handler for every event type: one delivery per active endpoint that subscribed to it and whose
    owner it concerns, created once (in the handler's transaction), sent after commit."""
    endpoints = list(
        Endpoint.objects.filter(status=Endpoint.Status.ACTIVE, events__contains=[event.type]).select_related("owner")
    )
    if not endpoints:
        return []
    deliveries = []
    for endpoint in endpoints:
        data = payloads.event_data_for(event=event, owner=endpoint.owner)
        if data is None:
            continue
        deliveries.append(
            Delivery(
                endpoint=endpoint,
                event_uuid=event.event_id,
                event_type=event.type,
                webhook_id=webhook_id_for(event.event_id),
                body=body_for(event_type=event.type, at=event.at, data=data),
                next_attempt_at=timezone.now(),
            )
        )
    # A re-run of the handler (its receipt did not commit) finds the rows of the first run: none twice.
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    created = list(Delivery.objects.filter(event_uuid=event.event_id, status=Delivery.Status.PENDING))
    _enqueue_after_commit([delivery.pk for delivery in created])
    return created


def delivery_create_test(*, endpoint: Endpoint) -> Delivery:
    """A ``webhook.test`` message for ``endpoint``, sent at once (whatever it subscribed to)."""
    event_uuid = uuid.uuid4()
    now = timezone.now()
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        event_uuid=event_uuid,
        event_type=payloads.TEST_EVENT_TYPE,
        webhook_id=webhook_id_for(event_uuid),
        body=body_for(
            event_type=payloads.TEST_EVENT_TYPE,
            at=now,
            data={"endpoint_id": endpoint.pk, "message": "A test event from Tessera: your endpoint is reachable."},
        ),
        next_attempt_at=now,
    )
    _enqueue_after_commit([delivery.pk])
    return delivery


def delivery_replay(*, delivery: Delivery) -> Delivery:
    """Send a delivery again (same webhook-id and body), with a new series of attempts. The endpoint must be
    active. Raises ``ValidationError``."""
    if delivery.endpoint.status != Endpoint.Status.ACTIVE:
        raise ValidationError("This endpoint is disabled; turn it back on before replaying its deliveries.")
    delivery.status = Delivery.Status.PENDING
    delivery.attempt_count = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "attempt_count", "next_attempt_at"])
    _enqueue_after_commit([delivery.pk])
    return delivery


def _enqueue_after_commit(delivery_ids: list[int]) -> None:
    if delivery_ids:
        transaction.on_commit(lambda: delivery_enqueue(delivery_ids=delivery_ids))


def delivery_enqueue(*, delivery_ids: list[int], countdown: float = 0) -> None:
    """Queue a send task per delivery (after ``countdown`` seconds), noting when, so the sweep leaves them alone;
    when the broker is down they stay due and unqueued for the sweep."""
    from webhooks.tasks import delivery_send as send_task  # tasks import this module

    if not delivery_ids:
        return
    Delivery.objects.filter(pk__in=delivery_ids).update(enqueued_at=timezone.now())
    for delivery_id in delivery_ids:
        try:
            send_task.apply_async((delivery_id,), countdown=countdown or None)
        except infrastructure_errors() as exc:
            Delivery.objects.filter(pk=delivery_id).update(enqueued_at=None)
            logger.warning("webhooks: could not enqueue delivery %s: %s", delivery_id, exc)


def retry_delay(*, attempts: int, retry_after: str | None = None, now: datetime | None = None) -> timedelta | None:
    """How long to wait after ``attempts`` failed attempts (None: give up). A receiver's Retry-After (seconds or
    an HTTP date) pushes it later, up to TESSERA_WEBHOOK_RETRY_AFTER_MAX_SECONDS."""
    if attempts >= len(RETRY_SCHEDULE_SECONDS):
        return None
    scheduled = RETRY_SCHEDULE_SECONDS[attempts] * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - jitter
    asked = _retry_after_seconds(retry_after, now=now or timezone.now())
    if asked is not None:
        scheduled = max(scheduled, min(asked, settings.TESSERA_WEBHOOK_RETRY_AFTER_MAX_SECONDS))
    return timedelta(seconds=scheduled)


def _retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


# --- Sending ------------------------------------------------------------------------------------------------


class EndpointBusy(Exception):
    """The endpoint already has TESSERA_WEBHOOK_ENDPOINT_CONCURRENCY requests in flight: try again shortly."""


def _slots_key(endpoint_id: int) -> str:
    return f"webhooks:endpoint:{endpoint_id}:in-flight"


@contextmanager
def endpoint_slot(endpoint_id: int) -> Iterator[None]:
    """Hold one of the endpoint's request slots (shared by every worker through Redis; a slot whose worker died
    expires with its lease) or raise ``EndpointBusy``. Without Redis there is no cap (and no broker either)."""
    token = uuid.uuid4().hex
    key = _slots_key(endpoint_id)
    lease = settings.TESSERA_WEBHOOK_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS
    client = broker_client(timeout=1.0)
    try:
        acquired = lease_take(
            client, key=key, limit=settings.TESSERA_WEBHOOK_ENDPOINT_CONCURRENCY, seconds=lease, token=token
        )
        shared = True
    except redis.RedisError as exc:
        logger.warning("webhooks: Redis unreachable (%s); sending without the per-endpoint cap", exc)
        acquired, shared = True, False
    if not acquired:
        raise EndpointBusy(endpoint_id)
    try:
        yield
    finally:
        if shared:
            try:
                lease_return(client, key=key, token=token)
            except redis.RedisError as exc:
                logger.warning("webhooks: slot of endpoint %s not released (%s); it expires", endpoint_id, exc)


@dataclass(frozen=True)
class SendOutcome:
    sent: bool  # an attempt was made
    status: str  # the delivery's status afterwards
    retry_in: float | None = None  # seconds until the next attempt, when one is scheduled


def _claim(delivery_id: int) -> Delivery | None:
    """Take a due, pending delivery of an active endpoint for one attempt (other workers skip it until the claim
    lapses); None when there is nothing to send now."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(
                pk=delivery_id,
                status=Delivery.Status.PENDING,
                next_attempt_at__lte=now,
                endpoint__status=Endpoint.Status.ACTIVE,
            )
            .first()
        )
        if delivery is None:
            return None
        delivery.next_attempt_at = now + timedelta(
            seconds=settings.TESSERA_WEBHOOK_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS
        )
        delivery.enqueued_at = None
        delivery.save(update_fields=["next_attempt_at", "enqueued_at"])
    return delivery


def delivery_send(*, delivery_id: int) -> SendOutcome:
    """Make the next attempt of a delivery if it is due. Raises ``EndpointBusy`` (nothing claimed) when the
    endpoint has all its slots in flight."""
    endpoint_id = Delivery.objects.filter(pk=delivery_id).values_list("endpoint_id", flat=True).first()
    if endpoint_id is None:
        return SendOutcome(sent=False, status="gone")
    with endpoint_slot(endpoint_id):
        delivery = _claim(delivery_id)
        if delivery is None:
            return SendOutcome(sent=False, status="not-due")
        return _attempt(delivery)


def _attempt(delivery: Delivery) -> SendOutcome:
    endpoint = delivery.endpoint
    started = timezone.now()
    status_code: int | None = None
    excerpt = ""
    error = ""
    retry_after: str | None = None
    latency_ms = 0
    try:
        target = transport.resolve(endpoint.url)
        headers = {
            "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(int(started.timestamp())),
            "webhook-signature": signature_header(
                secrets_=endpoint.signing_secrets(now=started),
                webhook_id=delivery.webhook_id,
                timestamp=started,
                body=delivery.body,
            ),
        }
        answer = transport.post(
            target, body=delivery.body.encode(), headers=headers, timeout=settings.TESSERA_WEBHOOK_TIMEOUT_SECONDS
        )
    except transport.UnsafeURL as exc:
        error = f"Refused by the SSRF guard: {exc}"
    except transport.DeliveryError as exc:
        error = str(exc)
    else:
        status_code, excerpt, retry_after, latency_ms = (
            answer.status,
            answer.excerpt,
            answer.retry_after,
            answer.latency_ms,
        )
    if not latency_ms:
        latency_ms = int((timezone.now() - started).total_seconds() * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    gone = status_code == 410
    delivery.attempt_count += 1
    delay = None if ok or gone else retry_delay(attempts=delivery.attempt_count, retry_after=retry_after)
    next_at = started + delay if delay is not None else None
    if ok:
        delivery.status = Delivery.Status.DELIVERED
    elif next_at is None:
        delivery.status = Delivery.Status.FAILED
    delivery.next_attempt_at = next_at
    delivery.last_status_code = status_code
    delivery.last_error = error[:500]
    delivery.last_attempt_at = started
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            attempted_at=started,
            status_code=status_code,
            latency_ms=latency_ms,
            response_excerpt=excerpt[:RESPONSE_EXCERPT_CHARS],
            error=error[:500],
            next_retry_at=next_at,
        )
        delivery.save(
            update_fields=[
                "status",
                "attempt_count",
                "next_attempt_at",
                "last_status_code",
                "last_error",
                "last_attempt_at",
            ]
        )
        _endpoint_health(endpoint=endpoint, ok=ok, now=started)
    logger.info("webhooks: delivery %s attempt %s -> %s %s", delivery.pk, delivery.attempt_count, status_code, error)
    if gone:
        _endpoint_disable(endpoint=endpoint, reason="The receiver answered 410 Gone: it no longer wants events.")
        return SendOutcome(sent=True, status=Delivery.Status.FAILED)
    endpoint.refresh_from_db(fields=["failing_since", "status"])
    if not ok and endpoint.failing_since is not None:
        failing_for = started - endpoint.failing_since
        if failing_for >= timedelta(days=settings.TESSERA_WEBHOOK_DISABLE_AFTER_DAYS):
            _endpoint_disable(
                endpoint=endpoint,
                reason=f"Every attempt failed for {settings.TESSERA_WEBHOOK_DISABLE_AFTER_DAYS} days "
                f"(last: {status_code or error}).",
            )
            return SendOutcome(sent=True, status=Delivery.Status.FAILED)
    retry_in = delay.total_seconds() if delay is not None else None
    return SendOutcome(sent=True, status=delivery.status, retry_in=retry_in)


def _endpoint_health(*, endpoint: Endpoint, ok: bool, now: datetime) -> None:
    if ok:
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
    else:
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)


def deliveries_sweep(*, limit: int = 500) -> int:
    """Enqueue deliveries that are due but have no send task on the way: never enqueued (the broker was down at
    commit), a retry too far ahead for a countdown, a worker that died mid-send (once its claim lapsed), or a
    task queued so long ago it must be lost. Returns how many were enqueued."""
    now = timezone.now()
    ids = list(
        Delivery.objects.filter(
            Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - timedelta(seconds=LOST_AFTER_SECONDS)),
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now - timedelta(seconds=SWEEP_GRACE_SECONDS),
            endpoint__status=Endpoint.Status.ACTIVE,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    delivery_enqueue(delivery_ids=ids)
    return len(ids)
