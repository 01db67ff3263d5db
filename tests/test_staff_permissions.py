"""Staff power needs the Django permission, on the API, the pages and the admin alike (catalog/permissions.py).

For each staff action: a staff account that lacks the permission (but holds the nearest read
permission, where there is one) is refused and nothing changes, not the row, not the ledger, not
Stripe; a staff account holding just that permission succeeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from catalog.models import CopyFlag, Pattern, Tag, TagSuggestion, User
from payments import services as payment_services
from payments import stripe_gateway
from payments.models import LedgerTransaction, Order, Refund
from tests.conftest import token_client
from tests.factories import PatternFactory, UserFactory

pytestmark = pytest.mark.django_db

World = dict[str, Any]


def staff_with(*perms: str) -> User:
    staff = UserFactory.create(is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        staff.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return User.objects.get(pk=staff.pk)  # no cached permissions


def page_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- worlds ---------------------------------------------------------------------------------------


def waiting_pattern() -> World:
    return {"pattern": PatternFactory.create(status=Pattern.Status.NEEDS_REVIEW, published_at=None)}


def pattern_with_suggestion() -> World:
    pattern = PatternFactory.create(status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    tag = Tag.objects.create(name="dragon", slug="dragon")
    suggestion = TagSuggestion.objects.create(pattern=pattern, tag=tag, source="model", confidence=0.3)
    return {"pattern": pattern, "suggestion": suggestion}


def paid_order() -> World:
    """An order paid at localstripe with the test card, as the webhook would have marked it."""
    pattern = PatternFactory.create(price=1500)
    order = payment_services.order_create(buyer=UserFactory.create(), pattern_ids=[pattern.pk])
    stripe_gateway.payment_intent_confirm_test_card(
        payment_intent_id=order.stripe_payment_intent_id or "",
        card={"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"},
    )
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=timezone.now())
    return {"order": Order.objects.get(pk=order.pk)}


def copy_flag() -> World:
    original = PatternFactory.create()
    copy = PatternFactory.create(status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    flag = CopyFlag.objects.create(
        pattern=copy,
        pattern_file=copy.files.get(),
        matched_file=original.files.get(),
        kind=CopyFlag.Kind.EXACT,
        distance=0.0,
        threshold=0.0,
    )
    return {"pattern": copy, "flag": flag}


# --- what each action may change ------------------------------------------------------------------


def pattern_state(world: World) -> Any:
    return Pattern.objects.filter(pk=world["pattern"].pk).values_list("status", "status_reason", "published_at").get()


def suggestion_state(world: World) -> Any:
    suggestion = TagSuggestion.objects.get(pk=world["suggestion"].pk)
    return suggestion.state, suggestion.decided_by_id, sorted(world["pattern"].tags.values_list("slug", flat=True))


def stripe_refunds(order: Order) -> list[int]:
    auth = {"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"}
    base = settings.STRIPE_API_BASE
    intent = requests.get(f"{base}/v1/payment_intents/{order.stripe_payment_intent_id}", headers=auth, timeout=10)
    charge = intent.json()["latest_charge"]
    charge_id = charge["id"] if isinstance(charge, dict) else charge
    refunds = requests.get(f"{base}/v1/refunds", params={"charge": charge_id}, headers=auth, timeout=10).json()
    return [refund["amount"] for refund in refunds["data"]]


def refund_state(world: World) -> Any:
    order = Order.objects.get(pk=world["order"].pk)
    return (
        order.status,
        order.amount_refunded,
        Refund.objects.count(),
        LedgerTransaction.objects.count(),
        stripe_refunds(order),
    )


def flag_state(world: World) -> Any:
    return CopyFlag.objects.get(pk=world["flag"].pk).status, pattern_state(world)


def nothing(world: World) -> Any:
    return None


# --- the actions ----------------------------------------------------------------------------------


def api_moderate(action: str) -> Callable[[User, World], Any]:
    def act(user: User, world: World) -> Any:
        return token_client(user).post(
            f"/api/v1/patterns/{world['pattern'].pk}/moderation/",
            {"action": action, "reason": "Not the creator's own design."},
            format="json",
        )

    return act


def admin_action(url: str, action: str, key: str, **extra: str) -> Callable[[User, World], Any]:
    def act(user: User, world: World) -> Any:
        return page_client(user).post(url, {"action": action, "_selected_action": [world[key].pk], **extra})

    return act


@dataclass(frozen=True)
class StaffAction:
    needs: tuple[str, ...]  # the permissions that, alone, allow the action
    holds_without: tuple[str, ...]  # what the refused staff account holds
    world: Callable[[], World]
    act: Callable[[User, World], Any]
    state: Callable[[World], Any]
    refused: int
    allowed: int
    done: Callable[[World, Any], bool]  # the action's effect, given the response


ACTIONS: dict[str, StaffAction] = {
    "API approve a pattern": StaffAction(
        needs=("catalog.change_pattern",),
        holds_without=("catalog.view_pattern",),
        world=waiting_pattern,
        act=api_moderate("approve"),
        state=pattern_state,
        refused=403,
        allowed=200,
        done=lambda world, response: pattern_state(world)[0] == "published",
    ),
    "API reject a pattern": StaffAction(
        needs=("catalog.change_pattern",),
        holds_without=("catalog.view_pattern",),
        world=waiting_pattern,
        act=api_moderate("reject"),
        state=pattern_state,
        refused=403,
        allowed=200,
        done=lambda world, response: pattern_state(world)[:2] == ("rejected", "Not the creator's own design."),
    ),
    "API refund an order": StaffAction(
        needs=("payments.change_order",),
        holds_without=("payments.view_order",),
        world=paid_order,
        act=lambda user, world: token_client(user).post(f"/api/v1/orders/{world['order'].pk}/refund/", {}),
        state=refund_state,
        refused=403,
        allowed=202,
        done=lambda world, response: stripe_refunds(world["order"]) == [1500],
    ),
    "API read an unpublished pattern": StaffAction(
        needs=("catalog.view_pattern",),
        holds_without=(),
        world=waiting_pattern,
        act=lambda user, world: token_client(user).get(f"/api/v1/patterns/{world['pattern'].pk}/"),
        state=nothing,
        refused=404,
        allowed=200,
        done=lambda world, response: response.json()["status"] == "needs_review",
    ),
    "API read unpublished similar patterns": StaffAction(
        needs=("catalog.view_pattern",),
        holds_without=(),
        world=waiting_pattern,
        act=lambda user, world: token_client(user).get(f"/api/v1/patterns/{world['pattern'].pk}/similar/"),
        state=nothing,
        refused=404,
        allowed=200,
        done=lambda world, response: response.json() == [],
    ),
    "API list another creator's tag suggestions": StaffAction(
        needs=("catalog.view_tagsuggestion", "catalog.view_pattern"),
        holds_without=("catalog.view_pattern",),
        world=pattern_with_suggestion,
        act=lambda user, world: token_client(user).get(f"/api/v1/patterns/{world['pattern'].pk}/tags/"),
        state=suggestion_state,
        refused=404,
        allowed=200,
        done=lambda world, response: [s["name"] for s in response.json()] == ["dragon"],
    ),
    "API decide a tag suggestion": StaffAction(
        needs=("catalog.change_tagsuggestion",),
        holds_without=("catalog.view_tagsuggestion",),
        world=pattern_with_suggestion,
        act=lambda user, world: token_client(user).post(
            f"/api/v1/patterns/{world['pattern'].pk}/tags/{world['suggestion'].pk}/", {"action": "accept"}
        ),
        state=suggestion_state,
        refused=403,
        allowed=200,
        done=lambda world, response: suggestion_state(world)[0::2] == ("accepted", ["dragon"]),
    ),
    "page: an unpublished pattern": StaffAction(
        needs=("catalog.view_pattern",),
        holds_without=(),
        world=waiting_pattern,
        act=lambda user, world: page_client(user).get(f"/p/{world['pattern'].slug}/"),
        state=nothing,
        refused=404,
        allowed=200,
        done=lambda world, response: world["pattern"].title in response.content.decode(),
    ),
    "page: another creator's processing status": StaffAction(
        needs=("catalog.view_pattern",),
        holds_without=(),
        world=waiting_pattern,
        act=lambda user, world: page_client(user).get(f"/sell/patterns/{world['pattern'].pk}/status.json"),
        state=nothing,
        refused=404,
        allowed=200,
        done=lambda world, response: response.json()["status"] == "needs_review",
    ),
    "page: decide a tag suggestion": StaffAction(
        needs=("catalog.view_pattern", "catalog.change_tagsuggestion"),
        holds_without=("catalog.view_pattern",),
        world=pattern_with_suggestion,
        act=lambda user, world: page_client(user).post(
            f"/sell/patterns/{world['pattern'].pk}/tags/{world['suggestion'].pk}/", {"action": "reject"}
        ),
        state=suggestion_state,
        refused=403,
        allowed=302,
        done=lambda world, response: suggestion_state(world)[0::2] == ("rejected", []),
    ),
    # The admin does not offer an action the account lacks the permission for. Posting it anyway is not
    # an action: with no action at all on offer the list is shown again (200), otherwise it is answered
    # "No action selected" (302 back to the list). Either way nothing is done.
    "admin: approve patterns": StaffAction(
        needs=("catalog.change_pattern",),
        holds_without=("catalog.view_pattern",),
        world=waiting_pattern,
        act=admin_action("/admin/catalog/pattern/", "approve", "pattern"),
        state=pattern_state,
        refused=200,
        allowed=302,
        done=lambda world, response: pattern_state(world)[0] == "published",
    ),
    "admin: reject patterns": StaffAction(
        needs=("catalog.change_pattern",),
        holds_without=("catalog.view_pattern",),
        world=waiting_pattern,
        act=admin_action("/admin/catalog/reviewqueue/", "reject", "pattern", confirm="1", reason="Blurry"),
        state=pattern_state,
        refused=200,
        allowed=302,
        done=lambda world, response: pattern_state(world)[:2] == ("rejected", "Blurry"),
    ),
    # The list's refund action only leads to the confirmation page; the refund happens there.
    "admin: refund action opens the confirmation page": StaffAction(
        needs=("payments.change_order",),
        holds_without=("payments.view_order",),
        world=paid_order,
        act=admin_action("/admin/payments/order/", "refund", "order"),
        state=refund_state,
        refused=200,
        allowed=302,
        done=lambda world, response: (
            response["Location"] == f"/admin/payments/order/{world['order'].pk}/refund/"
            and stripe_refunds(world["order"]) == []
        ),
    ),
    "admin: refund an order on the confirmation page": StaffAction(
        needs=("payments.change_order",),
        holds_without=("payments.view_order",),
        world=paid_order,
        act=lambda user, world: page_client(user).post(
            f"/admin/payments/order/{world['order'].pk}/refund/", {"amount": "15.00", "reason": "Wrong file"}
        ),
        state=refund_state,
        refused=403,
        allowed=302,
        done=lambda world, response: stripe_refunds(world["order"]) == [1500],
    ),
    "moderation console: approve a pattern": StaffAction(
        needs=("catalog.change_pattern",),
        holds_without=("catalog.view_pattern",),
        world=waiting_pattern,
        act=lambda user, world: page_client(user).post(
            f"/admin/catalog/reviewqueue/console/{world['pattern'].pk}/decide/", {"action": "approve"}
        ),
        state=pattern_state,
        refused=403,
        allowed=302,
        done=lambda world, response: pattern_state(world)[0] == "published",
    ),
    "admin: confirm a copy (rejects the pattern)": StaffAction(
        needs=("catalog.change_copyflag", "catalog.change_pattern"),
        holds_without=("catalog.change_copyflag",),
        world=copy_flag,
        act=admin_action("/admin/catalog/copyflag/", "confirm_copies", "flag"),
        state=flag_state,
        refused=302,
        allowed=302,
        done=lambda world, response: flag_state(world)[0] == "confirmed" and pattern_state(world)[0] == "rejected",
    ),
}


@pytest.mark.parametrize("name", ACTIONS)
def test_staff_actions_need_their_permission(name: str, request: pytest.FixtureRequest) -> None:
    action = ACTIONS[name]
    if action.world is paid_order:
        request.getfixturevalue("localstripe")
    world = action.world()
    before = action.state(world)

    refused = action.act(staff_with(*action.holds_without), world)
    assert refused.status_code == action.refused
    assert action.state(world) == before

    allowed = action.act(staff_with(*action.needs), world)
    assert allowed.status_code == action.allowed
    assert action.done(world, allowed)
