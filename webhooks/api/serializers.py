"""Webhook endpoint and delivery serializers. The secret appears only in the answer to creation and rotation."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from webhooks.models import Delivery, DeliveryAttempt, Endpoint


class EndpointCreateInputSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=50)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EndpointUpdateInputSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=50, required=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Endpoint.Status.choices, required=False)


class EndpointSerializer(serializers.ModelSerializer[Endpoint]):
    events = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Endpoint
        fields = ["id", "url", "events", "description", "status", "disabled_reason", "failing_since", "created_at"]
        read_only_fields = fields


class EndpointWithSecretSerializer(EndpointSerializer):
    """Shown once, when the secret is made (creation, rotation): ``whsec_`` + base64, for Standard Webhooks."""

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class DeliveryAttemptSerializer(serializers.ModelSerializer[DeliveryAttempt]):
    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "status_code", "latency_ms", "response_excerpt", "error", "next_retry_at"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    """One event sent to the endpoint: its webhook-id, status, the last attempt's outcome and every attempt."""

    event = serializers.CharField(source="event_type", read_only=True)
    event_id = serializers.UUIDField(source="event_uuid", read_only=True)
    status_code = serializers.IntegerField(source="last_status_code", read_only=True, allow_null=True)
    latency_ms = serializers.SerializerMethodField()
    response_excerpt = serializers.SerializerMethodField()
    next_retry_at = serializers.SerializerMethodField()
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "event_id",
            "webhook_id",
            "status",
            "attempt_count",
            "status_code",
            "latency_ms",
            "response_excerpt",
            "last_error",
            "last_attempt_at",
            "next_retry_at",
            "created_at",
            "attempts",
        ]
        read_only_fields = fields

    def _last(self, delivery: Delivery) -> DeliveryAttempt | None:
        attempts = list(delivery.attempts.all())
        return attempts[-1] if attempts else None

    def get_latency_ms(self, delivery: Delivery) -> int | None:
        last = self._last(delivery)
        return last.latency_ms if last else None

    def get_response_excerpt(self, delivery: Delivery) -> str:
        last = self._last(delivery)
        return last.response_excerpt if last else ""

    def get_next_retry_at(self, delivery: Delivery) -> str | None:
        if delivery.status != Delivery.Status.PENDING or delivery.next_attempt_at is None:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)
