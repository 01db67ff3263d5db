"""``/api/v1/webhooks/endpoints/``: register, list, change, rotate, test and delete endpoints; list and replay
their deliveries. Another user's endpoint answers 404."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webhooks import selectors, services
from webhooks.api.serializers import (
    DeliverySerializer,
    EndpointCreateInputSerializer,
    EndpointSerializer,
    EndpointUpdateInputSerializer,
    EndpointWithSecretSerializer,
)
from webhooks.models import Endpoint

TAGS = ["webhooks"]


def _drf_error(exc: DjangoValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError(exc.message_dict)
    return ValidationError({"detail": exc.messages})


def _endpoint_or_404(request: Request, pk: int) -> Endpoint:
    endpoint = selectors.endpoint_get_for_owner(owner=request.user, endpoint_id=pk)
    if endpoint is None:
        raise Http404
    return endpoint


class EndpointListCreateView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = PageNumberPagination

    @extend_schema(tags=TAGS, responses={200: EndpointSerializer(many=True)})
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.endpoint_list_for_owner(owner=request.user), request, view=self)
        return paginator.get_paginated_response(EndpointSerializer(page, many=True).data)

    @extend_schema(tags=TAGS, request=EndpointCreateInputSerializer, responses={201: EndpointWithSecretSerializer})
    def post(self, request: Request) -> Response:
        serializer = EndpointCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint = services.endpoint_create(owner=request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        return Response(EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "patch", "delete", "head", "options"]

    @extend_schema(tags=TAGS, responses={200: EndpointSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(EndpointSerializer(_endpoint_or_404(request, pk)).data)

    @extend_schema(tags=TAGS, request=EndpointUpdateInputSerializer, responses={200: EndpointSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        endpoint = _endpoint_or_404(request, pk)
        serializer = EndpointUpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint = services.endpoint_update(endpoint=endpoint, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(tags=TAGS, responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.endpoint_delete(endpoint=_endpoint_or_404(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateSecretView(APIView):
    """A new signing secret; the previous one keeps signing next to it for 24 hours."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(tags=TAGS, request=None, responses={200: EndpointWithSecretSerializer})
    def post(self, request: Request, pk: int) -> Response:
        endpoint = services.endpoint_rotate_secret(endpoint=_endpoint_or_404(request, pk))
        return Response(EndpointWithSecretSerializer(endpoint).data)


class EndpointTestView(APIView):
    """Send a ``webhook.test`` event to the endpoint now; its outcome appears in the deliveries."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(tags=TAGS, request=None, responses={202: DeliverySerializer})
    def post(self, request: Request, pk: int) -> Response:
        endpoint = _endpoint_or_404(request, pk)
        if endpoint.status != Endpoint.Status.ACTIVE:
            raise ValidationError({"detail": ["This endpoint is disabled; turn it back on to send a test event."]})
        with transaction.atomic():
            delivery = services.delivery_create_test(endpoint=endpoint)
        return Response(_delivery_data(delivery.pk, endpoint), status=status.HTTP_202_ACCEPTED)


class EndpointDeliveriesView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = PageNumberPagination

    @extend_schema(tags=TAGS, responses={200: DeliverySerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        endpoint = _endpoint_or_404(request, pk)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.delivery_list_for_endpoint(endpoint=endpoint), request, view=self)
        return paginator.get_paginated_response(DeliverySerializer(page, many=True).data)


class DeliveryReplayView(APIView):
    """Send a delivery again, with the same ``webhook-id`` and body, as a new series of attempts."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(tags=TAGS, request=None, responses={202: DeliverySerializer})
    def post(self, request: Request, pk: int, delivery_id: int) -> Response:
        delivery = selectors.delivery_get_for_owner(owner=request.user, endpoint_id=pk, delivery_id=delivery_id)
        if delivery is None:
            raise Http404
        try:
            with transaction.atomic():
                services.delivery_replay(delivery=delivery)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        return Response(_delivery_data(delivery.pk, delivery.endpoint), status=status.HTTP_202_ACCEPTED)


def _delivery_data(delivery_id: int, endpoint: Endpoint) -> Any:
    delivery = selectors.delivery_list_for_endpoint(endpoint=endpoint).get(pk=delivery_id)
    return DeliverySerializer(delivery).data
