"""Walked as a creator (issue 12): a paid pattern held for payouts says why once, in the alert with the link to
payouts, not a second time as a red error under the status (the page's script repaints that line)."""

from __future__ import annotations

import pytest
from django.test import Client

from catalog.models import Pattern
from tests.factories import PatternFactory, UserFactory

pytestmark = pytest.mark.django_db

REASON = "Approved, waiting for payouts: a paid pattern is published once your payouts are set up."


def test_a_pattern_held_for_payouts_says_why_once_and_the_script_does_not_repeat_it(client: Client) -> None:
    mira = UserFactory.create(username="mira")
    held = PatternFactory.create(
        creator=mira, price=900, status=Pattern.Status.DRAFT, awaiting_payouts=True, status_reason=REASON
    )
    client.force_login(mira)
    page = client.get(f"/sell/patterns/{held.pk}/").content.decode()
    assert page.count("Approved, waiting for payouts") == 1
    assert '<pre id="reason" class="status-failed"></pre>' in page
    data = client.get(f"/sell/patterns/{held.pk}/status.json").json()
    assert (data["awaiting_payouts"], data["status_reason"]) == (True, REASON)
