from __future__ import annotations

from typing import Any

from rest_framework import serializers

from payments.models import Order, OrderItem


class OrderCreateInputSerializer(serializers.Serializer[Any]):
    pattern_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False)


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
            "items",
            "created_at",
            "paid_at",
        ]
