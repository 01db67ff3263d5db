from __future__ import annotations

from typing import Any

from rest_framework import serializers

from payments.models import Order, OrderItem


class OrderCreateInputSerializer(serializers.Serializer[Any]):
    pattern_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False)
    commercial_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        help_text="Patterns (among pattern_ids) bought with the Commercial licence tier.",
    )
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$", required=False, default="", help_text="Where the buyer is taxed, when Stripe Tax is on."
    )


class OrderRefundInputSerializer(serializers.Serializer[Any]):
    amount = serializers.IntegerField(min_value=1, required=False, help_text="Minor units; the rest by default.")


class OrderItemSerializer(serializers.ModelSerializer[OrderItem]):
    title = serializers.CharField(source="pattern.title")
    licence: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = OrderItem
        fields = ["pattern_id", "title", "price", "currency", "licence"]


class OrderSerializer(serializers.ModelSerializer[Order]):
    items = OrderItemSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "status",
            "amount",
            "currency",
            "client_secret",
            "failure_reason",
            "amount_refunded",
            "tax_amount",
            "items",
            "created_at",
            "paid_at",
        ]
