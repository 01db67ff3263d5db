"""On a real worker: order.paid → the outbox (events queue) writes the notifications → their e-mails are sent by
the notifications queue (the worker writes them with the file backend into a temporary folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from notifications.models import Notification, OutgoingEmail
from tests.conftest import wait_for
from tests.factories import PatternFactory, UserFactory
from tests.notifications.test_notifications import paid_order

pytestmark = pytest.mark.e2e


def test_a_paid_order_notifies_and_emails_from_the_notifications_queue(
    worker_mail_dir: Path, celery_worker_process: Any
) -> None:
    creator = UserFactory.create(username="mira", email="mira@example.com")
    buyer = UserFactory.create(username="buyer", email="buyer@example.com")
    paid_order(buyer, PatternFactory.create(creator=creator, title="Hex planter", price=900))

    sent = wait_for(
        lambda: OutgoingEmail.objects.filter(status="sent").count() == 2 or None,
        timeout=60,
        what="both e-mails sent by the worker",
    )
    assert sent
    assert sorted(Notification.objects.values_list("recipient__username", "type")) == [
        ("buyer", "order.receipt"),
        ("mira", "sale"),
    ]
    written = "".join(path.read_text() for path in worker_mail_dir.glob("*.log"))
    assert written.count("List-Unsubscribe-Post: List-Unsubscribe=One-Click") == 2
    assert "To: buyer@example.com" in written
    assert "To: mira@example.com" in written
    assert "/library/" in written
