"""Order API and the Stripe webhook endpoint."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.permissions import REFUND_ORDERS, staff_with
from marketplace.metrics import webhooks_total
from payments import selectors, services
from payments.api.serializers import OrderCreateInputSerializer, OrderRefundInputSerializer, OrderSerializer
from payments.models import Order
from payments.stripe_gateway import WebhookSignatureError

logger = logging.getLogger(__name__)


class OrderCreateView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=OrderCreateInputSerializer, responses={201: OrderSerializer})
    def post(self, request: Request) -> Response:
        serializer = OrderCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            order = services.order_create(
                buyer=request.user,  # type: ignore[arg-type]
                pattern_ids=serializer.validated_data["pattern_ids"],
                commercial_ids=serializer.validated_data["commercial_ids"],
                country=serializer.validated_data["country"].upper(),
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        created = selectors.order_get_for_buyer(buyer=request.user, order_id=order.pk)
        return Response(OrderSerializer(created).data, status=status.HTTP_201_CREATED)


class OrderDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: OrderSerializer})
    def get(self, request: Request, pk: int) -> Response:
        order = selectors.order_get_for_buyer(buyer=request.user, order_id=pk)
        if order is None:
            raise Http404
        return Response(OrderSerializer(order).data)


class OrderRefundView(APIView):
    """Staff refund an order through Stripe; the books and entitlements change when Stripe confirms."""

    permission_classes = [staff_with(REFUND_ORDERS)]

    @extend_schema(request=OrderRefundInputSerializer, responses={202: None})
    def post(self, request: Request, pk: int) -> Response:
        serializer = OrderRefundInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = Order.objects.filter(pk=pk).first()
        if order is None:
            raise Http404
        try:
            refund_id = services.order_refund(
                order=order, amount=serializer.validated_data.get("amount"), requested_by=request.user
            )
        except DjangoValidationError as exc:
            raise ValidationError({"amount": exc.messages}) from exc
        return Response({"refund_id": refund_id, "status": "requested"}, status=status.HTTP_202_ACCEPTED)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe calls this; the signature, not a session, authenticates it."""
    try:
        outcome = services.webhook_handle(
            payload=request.body, signature_header=request.headers.get("Stripe-Signature", "")
        )
    except WebhookSignatureError:
        webhooks_total.labels(outcome="invalid-signature").inc()
        return JsonResponse({"error": "invalid signature"}, status=400)
    except services.WebhookPayloadError as exc:
        webhooks_total.labels(outcome="malformed").inc()
        logger.error("signed Stripe event refused: %s", exc)
        return JsonResponse({"error": "malformed event", "detail": str(exc)}, status=400)
    except services.WebhookRetryLater as exc:
        webhooks_total.labels(outcome="retry-later").inc()
        # Nothing was saved; Stripe redelivers the event later, and the refund's idempotency key holds.
        logger.warning("Stripe event deferred, Stripe unreachable: %s", exc)
        response = JsonResponse({"error": "Stripe is unreachable; retry later"}, status=503)
        response["Retry-After"] = "60"
        return response
    webhooks_total.labels(outcome=outcome).inc()
    return JsonResponse({"received": True, "outcome": outcome})
