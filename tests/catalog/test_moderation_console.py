"""The moderation console (catalog/console.py): permissions, claims, decisions, the queue, query counts."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import moderation
from catalog.models import CopyFlag, ModerationDecision, Pattern, PatternFile, RejectionReason, ReviewClaim, User
from catalog.reference_data import ensure_rejection_reasons
from tests import samples
from tests.factories import PatternFactory, UserFactory, add_file

pytestmark = pytest.mark.django_db
CONSOLE = "/admin/catalog/reviewqueue/console/"


def staff_with(*perms: str, username: str | None = None) -> User:
    staff = UserFactory.create(is_staff=True, **({"username": username} if username else {}))
    for perm in perms:
        app_label, codename = perm.split(".")
        staff.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return User.objects.get(pk=staff.pk)


def moderator(username: str | None = None) -> User:
    return staff_with("catalog.change_pattern", "catalog.view_pattern", username=username)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def waiting(title: str, *, hours_ago: float, **kwargs: Any) -> Pattern:
    pattern = PatternFactory.create(title=title, status=Pattern.Status.NEEDS_REVIEW, published_at=None, **kwargs)
    Pattern.objects.filter(pk=pattern.pk).update(created_at=timezone.now() - timedelta(hours=hours_ago))
    return Pattern.objects.get(pk=pattern.pk)


def item_url(pattern: Pattern) -> str:
    return f"{CONSOLE}{pattern.pk}/"


def decide(client: Client, pattern: Pattern, **data: str) -> Any:
    return client.post(f"{CONSOLE}{pattern.pk}/decide/", data)


def state(pattern: Pattern) -> tuple[Any, ...]:
    return Pattern.objects.filter(pk=pattern.pk).values_list("status", "status_reason", "published_at").get()


def texts(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_staff_without_the_moderate_permission_gets_403_and_changes_nothing() -> None:
    pattern = waiting("Owl", hours_ago=2)
    reason = RejectionReason.objects.first()
    assert reason is not None
    viewer = logged_in(staff_with("catalog.view_pattern"))
    before = state(pattern)

    for response in (
        viewer.get(CONSOLE),
        viewer.get(f"{CONSOLE}start/"),
        viewer.get(item_url(pattern)),
        decide(viewer, pattern, action="approve"),
        decide(viewer, pattern, action="reject", reason=str(reason.pk)),
        decide(viewer, pattern, action="skip"),
    ):
        assert response.status_code == 403
    assert state(pattern) == before
    assert ReviewClaim.objects.count() == 0
    assert ModerationDecision.objects.count() == 0
    # A signed-out visitor is sent to the admin's sign-in page.
    assert Client().get(item_url(pattern)).status_code == 302
    assert logged_in(moderator()).get(item_url(pattern)).status_code == 200


def test_the_queue_is_oldest_first_and_start_claims_the_oldest() -> None:
    middle = waiting("Middle", hours_ago=5)
    oldest = waiting("Oldest", hours_ago=30)
    newest = waiting("Newest", hours_ago=1)
    PatternFactory.create(title="Published one")  # not waiting: not listed
    client = logged_in(moderator())

    page = client.get(CONSOLE).content.decode()
    positions = [page.index(title) for title in ("Oldest", "Middle", "Newest")]
    assert positions == sorted(positions)
    assert "Published one" not in page
    assert [p.pk for p in moderation.review_queue()] == [oldest.pk, middle.pk, newest.pk]

    response = client.get(f"{CONSOLE}start/")
    assert response["Location"] == item_url(oldest)


def test_two_moderators_never_get_the_same_pattern_and_a_stale_claim_lapses() -> None:
    first, second = waiting("First", hours_ago=3), waiting("Second", hours_ago=2)
    ann, bob = moderator("ann"), moderator("bob")
    ann_client, bob_client = logged_in(ann), logged_in(bob)

    assert ann_client.get(f"{CONSOLE}start/")["Location"] == item_url(first)
    assert ann_client.get(item_url(first)).status_code == 200
    # Bob's queue skips what Ann holds.
    assert bob_client.get(f"{CONSOLE}start/")["Location"] == item_url(second)
    # Opening Ann's pattern directly sends Bob on to the next one, with a message; Ann keeps her claim.
    response = bob_client.get(item_url(first))
    assert response["Location"] == item_url(second)
    assert any("ann is reviewing “First”" in text for text in texts(response))
    assert ReviewClaim.objects.get(pattern=first).moderator == ann
    # Nor can Bob decide it while Ann's claim lives.
    response = decide(bob_client, first, action="approve")
    assert response.status_code == 302
    assert any("ann is reviewing" in text for text in texts(response))
    assert state(first)[0] == Pattern.Status.NEEDS_REVIEW

    # Ann walked away: once her lease has run out, Bob may take it.
    ReviewClaim.objects.filter(pattern=first).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bob_client.get(item_url(first)).status_code == 200
    claim = ReviewClaim.objects.get(pattern=first)
    assert claim.moderator == bob
    assert timedelta(minutes=9) < claim.expires_at - timezone.now() <= timedelta(minutes=10)


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_hand_out_different_patterns() -> None:
    waiting("One", hours_ago=3)
    waiting("Two", hours_ago=2)
    moderators = [moderator("ann"), moderator("bob")]
    barrier = threading.Barrier(2)
    got: dict[str, int | None] = {}

    def claim(user: User) -> None:
        try:
            barrier.wait(timeout=10)
            pattern = moderation.review_claim_next(moderator=user)
            got[user.username] = pattern.pk if pattern else None
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(user,)) for user in moderators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert None not in got.values()
    assert len(set(got.values())) == 2
    assert sorted(ReviewClaim.objects.values_list("moderator__username", flat=True)) == ["ann", "bob"]


def test_approve_goes_straight_to_the_next_pattern_already_claimed() -> None:
    first, second = waiting("First", hours_ago=3), waiting("Second", hours_ago=2)
    ann = moderator("ann")
    client = logged_in(ann)
    client.get(item_url(first))

    response = decide(client, first, action="approve")
    assert response.status_code == 302
    assert response["Location"] == item_url(second)
    status, reason, published_at = state(first)
    assert (status, reason) == (Pattern.Status.PUBLISHED, "")
    assert published_at is not None
    decision = ModerationDecision.objects.get()
    assert (decision.pattern_id, decision.moderator, decision.action, decision.canned_reason) == (
        first.pk,
        ann,
        "approve",
        None,
    )
    assert not ReviewClaim.objects.filter(pattern=first).exists()
    assert ReviewClaim.objects.get(pattern=second).moderator == ann
    assert texts(response) == ["Approved “First”."]


def test_reject_records_the_canned_reason_and_the_note() -> None:
    pattern, after = waiting("Copied owl", hours_ago=3), waiting("After", hours_ago=1)
    reason = RejectionReason.objects.get(label="Copy of another's work")
    ann = moderator("ann")
    client = logged_in(ann)
    assert f'value="{reason.pk}"' in client.get(item_url(pattern)).content.decode()

    response = decide(client, pattern, action="reject", reason=str(reason.pk), note="  Same as “Barn owl”.  ")
    assert response["Location"] == item_url(after)
    assert state(pattern) == (Pattern.Status.REJECTED, f"{reason.text}\n\nSame as “Barn owl”.", None)
    decision = ModerationDecision.objects.get()
    assert (decision.action, decision.canned_reason, decision.moderator) == ("reject", reason, ann)
    assert decision.reason == f"{reason.text}\n\nSame as “Barn owl”."


def test_reject_with_only_a_note_and_without_any_reason() -> None:
    pattern = waiting("Owl", hours_ago=3)
    client = logged_in(moderator())
    client.get(item_url(pattern))

    response = decide(client, pattern, action="reject", reason="", note="")
    assert response["Location"] == item_url(pattern)
    assert texts(response) == ["Pick a reason or write one; the creator will read it."]
    assert state(pattern)[0] == Pattern.Status.NEEDS_REVIEW
    assert ModerationDecision.objects.count() == 0

    response = decide(client, pattern, action="reject", reason="", note="The previews are someone else's photos.")
    assert state(pattern)[:2] == (Pattern.Status.REJECTED, "The previews are someone else's photos.")
    assert ModerationDecision.objects.get().canned_reason is None
    # An unknown reason id is refused with a message, not a 500.
    other = waiting("Other", hours_ago=1)
    response = decide(client, other, action="reject", reason="999999")
    assert (response.status_code, response["Location"]) == (302, item_url(other))
    assert decide(client, other, action="reject", reason="not-a-number").status_code == 302
    assert state(other)[0] == Pattern.Status.NEEDS_REVIEW


def test_a_second_decision_says_so_and_changes_nothing() -> None:
    pattern = waiting("Owl", hours_ago=3)
    reason = RejectionReason.objects.first()
    assert reason is not None
    ann, bob = moderator("ann"), moderator("bob")
    ann_client = logged_in(ann)
    ann_client.get(item_url(pattern))
    assert texts(decide(ann_client, pattern, action="approve"))[0] == "Approved “Owl”."
    ann_client.get(CONSOLE)  # shows, and so uses up, the messages
    published = state(pattern)

    # Ann's double click, and Bob acting on a page he opened before: a message, nothing changed.
    again = decide(ann_client, pattern, action="approve")
    late = decide(logged_in(bob), pattern, action="reject", reason=str(reason.pk))
    for response in (again, late):
        assert response.status_code == 302
        assert texts(response) == [
            "“Owl” was published by ann already; nothing was changed.",
            "The queue is clear: nothing else is waiting for you.",
        ]
    assert state(pattern) == published
    assert ModerationDecision.objects.count() == 1
    # Opening a decided pattern moves on as well.
    response = logged_in(bob).get(item_url(pattern))
    assert response["Location"] == CONSOLE
    assert logged_in(bob).get(f"{CONSOLE}999999/").status_code == 404
    assert decide(logged_in(bob), pattern, action="dance").status_code == 302


def test_next_skips_without_deciding_and_frees_the_pattern() -> None:
    first, second = waiting("First", hours_ago=3), waiting("Second", hours_ago=2)
    ann = moderator("ann")
    client = logged_in(ann)
    client.get(item_url(first))
    response = decide(client, first, action="skip")
    assert response["Location"] == item_url(second)
    assert state(first)[0] == Pattern.Status.NEEDS_REVIEW
    assert not ReviewClaim.objects.filter(pattern=first).exists()
    # Next from the last one wraps round to the oldest.
    assert decide(client, second, action="skip")["Location"] == item_url(first)


def _flagged(pattern: Pattern, count: int) -> None:
    """``count`` extra files with findings, each flagged as a copy of another creator's published file."""
    for n in range(count):
        original = PatternFactory.create(title=f"Original {n}")
        content = samples.stl_cube() + f"\n{pattern.pk}-{n}".encode()
        pattern_file = add_file(pattern, name=f"part-{n}.stl", content=content, file_format="stl")
        PatternFile.objects.filter(pk=pattern_file.pk).update(
            validation={
                "format": "stl",
                "findings": [
                    {"code": "mesh.not_watertight", "severity": "warning", "message": f"Hole {n}", "details": {}},
                    {"code": "mesh.thin_walls", "severity": "error", "message": f"Thin {n}", "details": {}},
                ],
            }
        )
        CopyFlag.objects.create(
            pattern=pattern,
            pattern_file=pattern_file,
            matched_file=original.files.get(),
            kind=CopyFlag.Kind.SHAPE,
            distance=0.001 * n,
            threshold=0.01,
        )


def test_the_console_page_runs_the_same_queries_however_many_findings_and_flags() -> None:
    small, large = waiting("Small", hours_ago=3), waiting("Large", hours_ago=2)
    _flagged(small, 1)
    _flagged(large, 4)
    client = logged_in(moderator())
    counts = []
    for pattern, flags in ((small, 1), (large, 4)):
        client.get(item_url(pattern))  # the session and permission caches warm up alike
        with CaptureQueriesContext(connection) as queries:
            response = client.get(item_url(pattern))
        assert response.status_code == 200
        page = response.content.decode()
        assert page.count('class="mod-flag"') == flags
        assert page.count("Thin ") == flags
        counts.append(len(queries))
    # 22: the session comes from Redis (SESSION_ENGINE cached_db) once the first request has warmed it
    assert counts[0] == counts[1] == 22
    assert "similarity <strong>1.00</strong>" in page  # distance 0: identical shape
    assert "similarity <strong>0.85</strong>" in page  # 0.003 of a 0.01 threshold


def test_the_page_shows_evidence_history_money_and_the_keys() -> None:
    creator = UserFactory.create(username="maker")
    PatternFactory.create(creator=creator, status=Pattern.Status.REJECTED, published_at=None)
    PatternFactory.create(creator=creator)
    pattern = waiting("Owl", hours_ago=3, creator=creator, price=1250, currency="EUR")
    _flagged(pattern, 1)
    page = logged_in(moderator()).get(item_url(pattern)).content.decode()
    assert "EUR 12.50" in page
    assert "1250" not in page
    assert "<dt>Published</dt><dd>1</dd>" in page
    assert '<dt>Rejected</dt><dd><span class="mod-badge warn">1</span></dd>' in page
    assert "Looks like" in page
    assert "Original 0" in page
    assert 'data-key="a"' in page
    assert 'data-key="r"' in page
    assert 'data-key="n"' in page
    assert "<kbd>A</kbd>" in page
    assert "tessera/moderation.js" in page
    assert "<script>" not in page.replace('<script src="', "")  # no inline scripts (CSP)


def test_rejection_reasons_are_seeded_and_editable_in_the_admin() -> None:
    assert RejectionReason.objects.filter(active=True).count() == 6
    ensure_rejection_reasons(RejectionReason)  # idempotent
    assert RejectionReason.objects.count() == 6
    admin = UserFactory.create(is_staff=True, is_superuser=True)
    client = logged_in(admin)
    reason = RejectionReason.objects.get(label="Previews unclear")
    response = client.post(
        f"/admin/catalog/rejectionreason/{reason.pk}/change/",
        {"label": "Blurry", "text": "Sharper previews, please.", "position": 0, "active": "on"},
    )
    assert response.status_code == 302
    reason.refresh_from_db()
    assert (reason.label, reason.text) == ("Blurry", "Sharper previews, please.")
