"""Telling people what happened: notifications written by the outbox handlers, and their e-mails.

The handlers only write rows (in the outbox handler's transaction, so a retry never repeats them) and enqueue the
e-mails after commit on the ``notifications`` queue; ``emails_sweep`` (beat) sends those that were never enqueued
(broker down at commit, a worker lost mid-send). Nothing here sends mail inside a request.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from marketplace.broker import infrastructure_errors
from notifications.models import OPT_IN_TYPES, REQUIRED_EMAIL_TYPES, TYPES, EmailPreference, Notification, OutgoingEmail
from notifications.selectors import unread_refresh

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
MAX_ATTEMPTS = 5
# A pending e-mail enqueued longer ago than this (a lost task) is enqueued again by the sweep.
LOST_AFTER = timedelta(minutes=10)


def absolute(url: str) -> str:
    return url if url.startswith("http") else f"{settings.SITE_URL.rstrip('/')}{url}"


def notify(
    *, event_id: uuid.UUID, recipient_ids: Iterable[int], type: str, message: str, url: str = ""
) -> list[Notification]:
    """One notification per recipient (at most once per (event, recipient, type)) and, where the person keeps
    e-mail of ``type`` on and has an address, its pending e-mail, enqueued after commit. Returns the new ones.
    An opt-in type (``OPT_IN_TYPES``) reaches only those who turned it on."""
    if type not in TYPES:
        raise ValueError(f"unknown notification type {type!r}")
    ids = sorted(set(recipient_ids))
    if not ids:
        return []
    already = set(
        Notification.objects.filter(event_id=event_id, type=type, recipient_id__in=ids).values_list(
            "recipient_id", flat=True
        )
    )
    users = get_user_model().objects.filter(pk__in=[i for i in ids if i not in already], is_active=True)
    if type in OPT_IN_TYPES:
        users = users.filter(email_preferences__type=type, email_preferences__enabled=True)
    muted = set(
        EmailPreference.objects.filter(user__in=users, type=type, enabled=False).values_list("user_id", flat=True)
    )
    created: list[Notification] = []
    emails: list[OutgoingEmail] = []
    for user in users:
        notification = Notification.objects.create(
            recipient=user, type=type, message=message, url=url, event_id=event_id
        )
        created.append(notification)
        if user.email and (user.pk not in muted or type in REQUIRED_EMAIL_TYPES):
            emails.append(OutgoingEmail.objects.create(notification=notification, to=user.email))
    if created:
        recipients = [n.recipient_id for n in created]
        transaction.on_commit(lambda: unread_refresh(user_ids=recipients))
    if emails:
        email_ids = [email.pk for email in emails]
        transaction.on_commit(lambda: email_enqueue(email_ids=email_ids))
    logger.info("notifications: %s x%s (%s e-mails) for event %s", type, len(created), len(emails), event_id)
    return created


def email_to_address(*, event_id: uuid.UUID, to: str, type: str, message: str, url: str = "") -> OutgoingEmail | None:
    """An e-mail to an address with no account behind it (a takedown claimant), enqueued after commit like a
    notification's. At most once per (event, address, type): an outbox retry sends nothing twice. Returns the new
    e-mail, or None when it was written before."""
    if type not in TYPES:
        raise ValueError(f"unknown notification type {type!r}")
    email, created = OutgoingEmail.objects.get_or_create(
        event_id=event_id, to=to, type=type, notification=None, defaults={"message": message, "url": url}
    )
    if not created:
        return None
    transaction.on_commit(lambda: email_enqueue(email_ids=[email.pk]))
    logger.info("notifications: %s e-mail to an address for event %s", type, event_id)
    return email


def email_enqueue(*, email_ids: list[int]) -> None:
    """Queue a send per e-mail, noting when; when the broker is down they stay unqueued for the sweep."""
    from notifications.tasks import email_send  # tasks import this module

    if not email_ids:
        return
    OutgoingEmail.objects.filter(pk__in=email_ids).update(enqueued_at=timezone.now())
    for email_id in email_ids:
        try:
            email_send.delay(email_id)
        except infrastructure_errors() as exc:
            OutgoingEmail.objects.filter(pk=email_id).update(enqueued_at=None)
            logger.warning("notifications: could not enqueue e-mail %s: %s", email_id, exc)


def unsubscribe_token(*, user_id: int, type: str) -> str:
    return signing.dumps({"u": user_id, "t": type}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_read(token: str) -> tuple[int, str] | None:
    """The (user id, type) a token stands for, or None when it is not one of ours."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("t") not in TYPES or not isinstance(data.get("u"), int):
        return None
    return data["u"], data["t"]


def preference_set(*, user: Any, type: str, enabled: bool) -> None:
    if type not in TYPES:
        raise ValueError(f"unknown notification type {type!r}")
    EmailPreference.objects.update_or_create(user=user, type=type, defaults={"enabled": enabled})


def preferences_for(*, user: Any) -> dict[str, bool]:
    """The types a person may turn off, each with their choice (legal notices are always sent: not listed)."""
    chosen = dict(EmailPreference.objects.filter(user=user).values_list("type", "enabled"))
    return {type: chosen.get(type, type not in OPT_IN_TYPES) for type in TYPES if type not in REQUIRED_EMAIL_TYPES}


def mark_read(*, user: Any, notification_id: int) -> bool:
    """Mark one of ``user``'s notifications read; False when it is not theirs."""
    found = Notification.objects.filter(pk=notification_id, recipient=user)
    if not found.exists():
        return False
    found.filter(read_at__isnull=True).update(read_at=timezone.now())
    unread_refresh(user_ids=[user.pk])
    return True


def mark_all_read(*, user: Any) -> int:
    count = Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
    unread_refresh(user_ids=[user.pk])
    return count


def _address_email_message(email: OutgoingEmail) -> EmailMultiAlternatives:
    """An e-mail to an address (no account, so no preferences and no unsubscribe: it answers what they sent us)."""
    context = {
        "notification": email,
        "subject": TYPES[email.type],
        "url": absolute(email.url) if email.url else "",
        "unsubscribe_url": "",
        "preferences_url": "",
    }
    message = EmailMultiAlternatives(
        subject=f"Tessera: {TYPES[email.type]}",
        body=render_to_string("notifications/email/notification.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
    )
    message.attach_alternative(render_to_string("notifications/email/notification.html", context), "text/html")
    return message


def email_message(email: OutgoingEmail) -> EmailMultiAlternatives:
    notification = email.notification
    if notification is None:
        return _address_email_message(email)
    # A legal notice cannot be turned off: no unsubscribe link or List-Unsubscribe header on it.
    required = notification.type in REQUIRED_EMAIL_TYPES
    unsubscribe_url = (
        ""
        if required
        else absolute(
            reverse(
                "notifications:unsubscribe",
                kwargs={"token": unsubscribe_token(user_id=notification.recipient_id, type=notification.type)},
            )
        )
    )
    context = {
        "notification": notification,
        "subject": TYPES[notification.type],
        "url": absolute(notification.url) if notification.url else "",
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": absolute(reverse("notifications:preferences")),
    }
    headers = (
        {}
        if required
        else {
            # RFC 2369 + RFC 8058: mail clients offer a one-click unsubscribe that POSTs to the link.
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    )
    message = EmailMultiAlternatives(
        subject=f"Tessera: {TYPES[notification.type]}",
        body=render_to_string("notifications/email/notification.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers=headers,
    )
    message.attach_alternative(render_to_string("notifications/email/notification.html", context), "text/html")
    return message


def email_send(*, email_id: int) -> str:
    """Send one pending e-mail (idempotent: a sent one is left alone). Raises on a transport error after noting
    the attempt, so the task retries; after MAX_ATTEMPTS it is marked failed."""
    with transaction.atomic():
        email = (
            OutgoingEmail.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("notification")
            .filter(pk=email_id, status=OutgoingEmail.Status.PENDING)
            .first()
        )
        if email is None:
            return "skipped"
        email.attempts += 1
        try:
            email_message(email).send()
        except (OSError, ConnectionError) as exc:
            email.last_error = str(exc)[:1000]
            if email.attempts >= MAX_ATTEMPTS:
                email.status = OutgoingEmail.Status.FAILED
            email.save(update_fields=["attempts", "last_error", "status"])
            logger.warning("notifications: e-mail %s failed (attempt %s): %s", email_id, email.attempts, exc)
            return "failed"
        email.status = OutgoingEmail.Status.SENT
        email.sent_at = timezone.now()
        email.save(update_fields=["attempts", "status", "sent_at"])
    return "sent"


def emails_sweep(*, limit: int = 500) -> int:
    """Enqueue the pending e-mails never enqueued, or enqueued so long ago that the task was lost."""
    stale = timezone.now() - LOST_AFTER
    ids = list(
        OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    email_enqueue(email_ids=ids)
    return len(ids)
