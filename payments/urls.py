from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("cart/", views.cart_view, name="cart"),
    path("sell/earnings/", views.earnings, name="earnings"),
    path("sell/earnings/payouts/", views.payouts_onboard, name="payouts-onboard"),
    path("cart/add/<int:pk>/", views.cart_add, name="cart-add"),
    path("cart/remove/<int:pk>/", views.cart_remove, name="cart-remove"),
    path("checkout/", views.checkout_start, name="checkout-start"),
    path("checkout/<int:pk>/", views.checkout, name="checkout"),
    path("checkout/<int:pk>/confirm-local/", views.checkout_confirm_local, name="checkout-confirm-local"),
    path("orders/", views.order_list, name="order-list"),
    path("orders/<int:pk>/receipt/", views.order_receipt, name="order-receipt"),
    path("get-free/<int:pk>/", views.pattern_get_free, name="get-free"),
    path("orders/<int:pk>/status.json", views.order_status_json, name="order-status-json"),
]
