"""Who sees and changes what: drafts, moderation through the API and Django admin."""

from __future__ import annotations

import pytest

from catalog.models import Pattern
from tests.conftest import token_client
from tests.factories import PatternFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_unpublished_pattern_is_visible_to_its_creator_and_staff_only(api_client) -> None:  # type: ignore[no-untyped-def]
    pattern = PatternFactory.create(status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    url = f"/api/v1/patterns/{pattern.pk}/"
    assert api_client.get(url).status_code == 404
    assert token_client(UserFactory.create()).get(url).status_code == 404
    assert token_client(pattern.creator).get(url).json()["status"] == "needs_review"
    assert token_client(StaffFactory.create()).get(url).status_code == 200
    assert api_client.get("/api/v1/patterns/").json()["count"] == 0


@pytest.mark.parametrize("who", ["anonymous", "creator", "another user"])
def test_only_staff_moderate(api_client, who: str) -> None:  # type: ignore[no-untyped-def]
    pattern = PatternFactory.create(status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    client = {
        "anonymous": api_client,
        "creator": token_client(pattern.creator),
        "another user": token_client(UserFactory.create()),
    }[who]
    response = client.post(f"/api/v1/patterns/{pattern.pk}/moderation/", {"action": "approve"}, format="json")
    assert response.status_code in (401, 403)
    assert Pattern.objects.get().status == "needs_review"


def test_reject_needs_a_reason_the_creator_reads() -> None:
    pattern = PatternFactory.create(status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    staff = token_client(StaffFactory.create())
    url = f"/api/v1/patterns/{pattern.pk}/moderation/"
    missing = staff.post(url, {"action": "reject"}, format="json")
    assert missing.status_code == 400
    assert "reason" in missing.json()
    assert Pattern.objects.get().status == "needs_review"
    done = staff.post(url, {"action": "reject", "reason": "The files are someone else's design."}, format="json")
    assert done.status_code == 200
    body = token_client(pattern.creator).get(f"/api/v1/patterns/{pattern.pk}/").json()
    assert (body["status"], body["status_reason"]) == ("rejected", "The files are someone else's design.")


def test_approve_only_from_review() -> None:
    pattern = PatternFactory.create(status=Pattern.Status.FAILED, published_at=None)
    response = token_client(StaffFactory.create()).post(
        f"/api/v1/patterns/{pattern.pk}/moderation/", {"action": "approve"}, format="json"
    )
    assert response.status_code == 400
    assert Pattern.objects.get().status == "failed"


def test_admin_review_queue_approve_and_reject_actions(client) -> None:  # type: ignore[no-untyped-def]
    waiting = PatternFactory.create(status=Pattern.Status.NEEDS_REVIEW, published_at=None, title="Waiting one")
    other = PatternFactory.create(status=Pattern.Status.NEEDS_REVIEW, published_at=None, title="Other one")
    PatternFactory.create(title="Already live")
    client.force_login(StaffFactory.create())
    queue = client.get("/admin/catalog/reviewqueue/")
    assert queue.status_code == 200
    html = queue.content.decode()
    assert "Waiting one" in html
    assert "Other one" in html
    assert "Already live" not in html
    client.post("/admin/catalog/reviewqueue/", {"action": "approve", "_selected_action": [waiting.pk]})
    assert Pattern.objects.get(pk=waiting.pk).status == "published"
    confirm = client.post("/admin/catalog/reviewqueue/", {"action": "reject", "_selected_action": [other.pk]})
    assert "The creator will see your reason" in confirm.content.decode()
    assert Pattern.objects.get(pk=other.pk).status == "needs_review"
    client.post(
        "/admin/catalog/reviewqueue/",
        {"action": "reject", "_selected_action": [other.pk], "confirm": "1", "reason": "Blurry previews"},
    )
    rejected = Pattern.objects.get(pk=other.pk)
    assert (rejected.status, rejected.status_reason) == ("rejected", "Blurry previews")


def test_admin_filters_by_status_and_format(client) -> None:  # type: ignore[no-untyped-def]
    PatternFactory.create(title="Published cube")
    client.force_login(StaffFactory.create())
    assert "Published cube" in client.get("/admin/catalog/pattern/?status__exact=published").content.decode()
    assert "Published cube" in client.get("/admin/catalog/pattern/?files__format__exact=stl").content.decode()
    assert "Published cube" not in client.get("/admin/catalog/pattern/?files__format__exact=svg").content.decode()
