"""Cart and checkout pages."""

from __future__ import annotations

from typing import Any

import stripe
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from catalog.models import Pattern
from payments import cart, payouts, selectors, services, stripe_gateway


def cart_view(request: HttpRequest) -> HttpResponse:
    ids = cart.cart_ids(request.session)
    commercial = set(cart.cart_commercial_ids(request.session))
    patterns = list(Pattern.objects.filter(pk__in=ids, status=Pattern.Status.PUBLISHED).select_related("licence"))
    lines: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    for pattern in patterns:
        # A tier the pattern stopped offering falls back to its own licence instead of failing the cart.
        licence, price = services.licence_tier_for(
            pattern=pattern, commercial=pattern.pk in commercial and pattern.commercial_price is not None
        )
        lines.append({"pattern": pattern, "price": price, "tier": licence.name})
        totals[pattern.currency] = totals.get(pattern.currency, 0) + price
    return render(request, "payments/cart.html", {"lines": lines, "totals": totals})


@require_POST
def cart_add(request: HttpRequest, pk: int) -> HttpResponse:
    pattern = Pattern.objects.filter(pk=pk, status=Pattern.Status.PUBLISHED).first()
    if pattern is None:
        raise Http404("No such pattern.")
    commercial = request.POST.get("tier") == "commercial" and pattern.commercial_price is not None
    cart.cart_add(request.session, pattern.pk, commercial=commercial)
    messages.success(request, f"“{pattern.title}” is in your cart.")
    return redirect("payments:cart")


@require_POST
def cart_remove(request: HttpRequest, pk: int) -> HttpResponse:
    cart.cart_remove(request.session, pk)
    return redirect("payments:cart")


@login_required
@require_POST
def checkout_start(request: HttpRequest) -> HttpResponse:
    try:
        order = services.order_create(
            buyer=request.user,  # type: ignore[arg-type]
            pattern_ids=cart.cart_ids(request.session),
            commercial_ids=cart.cart_commercial_ids(request.session),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("payments:cart")
    if order.status == order.Status.PAID:
        cart.cart_clear(request.session)
        messages.success(request, "Your free patterns are in your library.")
        return redirect("delivery:library")
    return redirect("payments:checkout", pk=order.pk)


@login_required
def checkout(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_get_for_buyer(buyer=request.user, order_id=pk)
    if order is None:
        raise Http404("No such order.")
    if order.status == order.Status.PAID:
        cart.cart_clear(request.session)
    return render(
        request,
        "payments/checkout.html",
        {
            "order": order,
            "stripe_js_url": settings.STRIPE_JS_URL,
            "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "uses_localstripe": settings.STRIPE_USES_LOCALSTRIPE,
        },
    )


@login_required
def order_status_json(request: HttpRequest, pk: int) -> JsonResponse:
    order = selectors.order_get_for_buyer(buyer=request.user, order_id=pk)
    if order is None:
        raise Http404("No such order.")
    if order.status == order.Status.PAID:
        cart.cart_clear(request.session)
    return JsonResponse({"status": order.status, "failure_reason": order.failure_reason})


@login_required
@require_POST
def checkout_confirm_local(request: HttpRequest, pk: int) -> JsonResponse:
    """Local emulator only: Stripe.js from localstripe collects the card, the server confirms."""
    import json

    import stripe

    if not settings.STRIPE_USES_LOCALSTRIPE:
        raise Http404("Not available with real Stripe.")
    order = selectors.order_get_for_buyer(buyer=request.user, order_id=pk)
    if order is None or not order.stripe_payment_intent_id:
        raise Http404("No such order.")
    if order.status == order.Status.PAID:
        return JsonResponse({"status": order.status})
    if order.status != order.Status.PENDING:
        # Cancelled (replaced by a newer checkout) or failed: this order can no longer be paid.
        reason = order.failure_reason or f"This order is {order.get_status_display().lower()}."
        return JsonResponse({"error": f"{reason} It cannot be paid; check out again from your cart."}, status=409)
    try:
        card = json.loads(request.body)["card"]
        intent = stripe_gateway.payment_intent_confirm_test_card(
            payment_intent_id=order.stripe_payment_intent_id, card=card
        )
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "Enter a complete card number, expiry date and CVC."}, status=400)
    except stripe.StripeError as exc:
        return JsonResponse({"error": exc.user_message or "The card was declined."}, status=402)
    if intent.status == "requires_action":
        # Real Stripe.js runs the bank's 3-D Secure challenge; this local flow cannot, so it says so.
        return JsonResponse(
            {
                "error": "Your bank requires authentication (3-D Secure) for this card, which this test checkout "
                "cannot perform. You have not been charged; use another card.",
                "code": "authentication_required",
            },
            status=402,
        )
    return JsonResponse({"status": intent.status, "client_secret": intent.client_secret})


@login_required
def earnings(request: HttpRequest) -> HttpResponse:
    """A creator's balance, sales and refunds, payouts, and the way to set up Stripe payouts."""
    if request.GET.get("onboarding") == "done":
        try:
            payouts.payout_account_refresh(creator=request.user)
        except stripe.StripeError as exc:
            messages.error(request, f"Stripe could not be reached to check your account: {exc.user_message or exc}")
    context = selectors.creator_earnings(creator=request.user)
    context.update(
        fee_percent=settings.TESSERA_PLATFORM_FEE_BPS / 100,
        hold_days=settings.TESSERA_PAYOUT_HOLD_DAYS,
        minimum=settings.TESSERA_PAYOUT_MINIMUM,
    )
    return render(request, "payments/earnings.html", context)


@login_required
@require_POST
def payouts_onboard(request: HttpRequest) -> HttpResponse:
    back = request.build_absolute_uri(reverse("payments:earnings"))
    try:
        url = payouts.payout_account_onboarding_link(
            creator=request.user, refresh_url=back, return_url=back + "?onboarding=done"
        )
    except stripe.StripeError as exc:
        messages.error(request, f"Stripe could not start the set-up: {exc.user_message or exc}. Please try again.")
        return redirect("payments:earnings")
    return redirect(url)
