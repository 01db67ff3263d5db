"""Sending e-mails, on their own ``notifications`` queue. Thin: the services do the work."""

from __future__ import annotations

from celery import shared_task

from notifications import services


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def email_send(email_id: int) -> str:
    outcome = services.email_send(email_id=email_id)
    if outcome == "failed":
        # Still pending (fewer than MAX_ATTEMPTS): the next sweep enqueues it again.
        services.OutgoingEmail.objects.filter(pk=email_id).update(enqueued_at=None)
    return outcome


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def emails_sweep() -> int:
    return services.emails_sweep()
