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
from django.views.decorators.http import require_http_methods, require_POST

from catalog.models import Pattern
from marketplace.tracking import CartAdded, track_request, user_id_of
from payments import cart, payouts, selectors, services, stripe_gateway


def _cart_lines(request: HttpRequest) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The session cart's published patterns with the tier and price each is bought at, and totals per currency."""
    ids = cart.cart_ids(request.session)
    commercial = set(cart.cart_commercial_ids(request.session))
    patterns = list(
        Pattern.objects.filter(pk__in=ids, status=Pattern.Status.PUBLISHED)
        .select_related("licence")
        .prefetch_related("previews")
    )
    lines: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    for pattern in patterns:
        # A tier the pattern stopped offering falls back to its own licence instead of failing the cart.
        licence, price = services.licence_tier_for(
            pattern=pattern, commercial=pattern.pk in commercial and pattern.commercial_price is not None
        )
        lines.append({"pattern": pattern, "price": price, "tier": licence.name})
        totals[pattern.currency] = totals.get(pattern.currency, 0) + price
    return lines, totals


def cart_view(request: HttpRequest) -> HttpResponse:
    lines, totals = _cart_lines(request)
    return render(request, "payments/cart.html", {"lines": lines, "totals": totals})


@require_POST
def cart_add(request: HttpRequest, pk: int) -> HttpResponse:
    pattern = Pattern.objects.filter(pk=pk, status=Pattern.Status.PUBLISHED).first()
    if pattern is None:
        raise Http404("No such pattern.")
    commercial = request.POST.get("tier") == "commercial" and pattern.commercial_price is not None
    cart.cart_add(request.session, pattern.pk, commercial=commercial)
    track_request(
        request,
        CartAdded(user_id=user_id_of(request.user), path=request.path, pattern_id=pattern.pk),
        owner_id=pattern.creator_id,
    )
    messages.success(request, f"“{pattern.title}” is in your cart.")
    return redirect("payments:cart")


@require_POST
def cart_remove(request: HttpRequest, pk: int) -> HttpResponse:
    cart.cart_remove(request.session, pk)
    return redirect("payments:cart")


@login_required
@require_http_methods(["GET", "POST"])
def checkout_start(request: HttpRequest) -> HttpResponse:
    """GET: review the cart before paying (where sign-in and sign-up come back to). POST: create the order."""
    if request.method == "GET":
        lines, totals = _cart_lines(request)
        if not lines:
            messages.info(request, "Your cart is empty.")
            return redirect("payments:cart")
        return render(request, "payments/checkout_review.html", {"lines": lines, "totals": totals})
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
        return redirect("payments:order-receipt", pk=order.pk)
    return redirect("payments:checkout", pk=order.pk)


@login_required
@require_POST
def pattern_get_free(request: HttpRequest, pk: int) -> HttpResponse:
    """The "Get it free" button: the pattern goes straight to the library (no cart, no checkout)."""
    try:
        _order, created = services.pattern_claim_free(buyer=request.user, pattern_id=pk)  # type: ignore[arg-type]
    except services.NotFree as exc:
        pattern = Pattern.objects.get(pk=pk)
        message = f"{exc} Add it to your cart to buy it; nothing was added to your library."
        return render(
            request,
            "payments/not_free.html",
            {"message": message, "pattern_url": pattern.get_absolute_url()},
            status=409,
        )
    except ValidationError as exc:
        raise Http404(" ".join(exc.messages)) from exc
    if created:
        messages.success(request, "It is in your library.")
    else:
        messages.info(request, "You already have this pattern; it is in your library.")
    return redirect("delivery:library")


@login_required
def checkout(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_get_for_buyer(buyer=request.user, order_id=pk)
    if order is None:
        raise Http404("No such order.")
    if order.paid_at is not None:
        cart.cart_clear(request.session)
        return redirect("payments:order-receipt", pk=order.pk)
    return render(
        request,
        "payments/checkout.html",
        {
            "order": order,
            "summary": selectors.order_summary(order=order),
            "stripe_js_url": settings.STRIPE_JS_URL,
            "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "uses_localstripe": settings.STRIPE_USES_LOCALSTRIPE,
        },
    )


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    """Every order of the buyer, newest first, whatever became of it (refunds and disputes stay listed)."""
    orders = list(selectors.order_list_for_buyer(buyer=request.user))
    return render(
        request,
        "payments/order_list.html",
        {"rows": [{"order": order, "summary": selectors.order_summary(order=order)} for order in orders]},
    )


@login_required
def order_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable receipt of one order; only its buyer sees it (404 for anyone else)."""
    order = selectors.order_get_for_buyer(buyer=request.user, order_id=pk)
    if order is None:
        raise Http404("No such order.")
    if order.paid_at is not None:
        cart.cart_clear(request.session)
    return render(request, "payments/receipt.html", {"order": order, "summary": selectors.order_summary(order=order)})


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
