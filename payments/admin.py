from django.contrib import admin

from payments.models import Order, OrderItem, Payment, WebhookEvent


class OrderItemInline(admin.TabularInline[OrderItem, Order]):
    model = OrderItem
    extra = 0
    readonly_fields = ["pattern", "creator", "licence", "price", "currency"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin[Order]):
    list_display = ["id", "buyer", "status", "amount", "currency", "created_at", "paid_at"]
    list_filter = ["status", "currency"]
    inlines = [OrderItemInline]
    readonly_fields = ["stripe_payment_intent_id", "client_secret", "paid_at"]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin[Payment]):
    list_display = ["stripe_payment_intent_id", "order", "amount", "currency", "status", "created_at"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin[WebhookEvent]):
    list_display = ["stripe_event_id", "type", "processed_at"]
    list_filter = ["type"]
