"""Walked as a creator (issue 12): a paid pattern held for payouts says why once, in the alert with the link to
payouts, not a second time as a red error under the status (the page's script repaints that line)."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from catalog.models import CreatorProfile, Pattern, PatternVersion
from catalog.services import creator_payouts_ready_set
from tests.conftest import token_client
from tests.factories import PatternFactory, StaffFactory, UserFactory

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


@override_settings(TESSERA_PAYOUTS_REQUIRED_TO_PUBLISH=True)
def test_a_pattern_published_when_payouts_are_ready_publishes_its_version_1_too() -> None:
    # Walked: after "Set up payouts" the 14 held demo patterns went on sale, but GET …/versions/ still said
    # version 1 had never been published (published_at null).
    mira = UserFactory.create(username="mira")
    CreatorProfile.objects.create(user=mira, display_name="Mira")
    held = PatternFactory.create(creator=mira, price=900, status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    moderator = StaffFactory.create(is_superuser=True)
    response = token_client(moderator).post(f"/api/v1/patterns/{held.pk}/moderation/", {"action": "approve"})
    assert response.status_code == 200
    held.refresh_from_db()
    assert (held.status, held.awaiting_payouts) == ("draft", True)

    creator_payouts_ready_set(user_id=mira.pk, ready=True)

    held.refresh_from_db()
    assert held.status == "published"
    assert held.published_at is not None
    version = PatternVersion.objects.get(pattern=held, number=1)
    assert (version.status, version.status_reason, version.published_at) == ("published", "", held.published_at)
    listed = token_client(mira).get(f"/api/v1/patterns/{held.pk}/versions/").json()
    assert [(v["number"], v["status"], v["published_at"] is not None) for v in listed] == [(1, "published", True)]
