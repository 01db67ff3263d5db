"""REST API v1. Outside tools rely on these paths."""

from django.urls import path

from catalog.api.views import (
    CreatorDetailView,
    ImageSearchView,
    PatternDetailView,
    PatternHistoryView,
    PatternLifecycleView,
    PatternModerationView,
    PatternSimilarView,
    PatternTagSuggestionsView,
    TagSuggestionDecisionView,
)
from delivery.api.views import LibraryView
from ingestion.api.views import (
    PatternListCreateView,
    PatternResubmitView,
    UploadSessionCreateView,
    UploadSessionDetailView,
)
from marketplace.login_paths import obtain_auth_token
from payments.api.views import OrderCreateView, OrderDetailView, OrderRefundView, stripe_webhook
from webhooks.api.views import (
    DeliveryReplayView,
    EndpointDeliveriesView,
    EndpointDetailView,
    EndpointListCreateView,
    EndpointRotateSecretView,
    EndpointTestView,
)

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("patterns/", PatternListCreateView.as_view(), name="api-patterns"),
    path("patterns/<int:pk>/", PatternDetailView.as_view(), name="api-pattern-detail"),
    path("patterns/<int:pk>/moderation/", PatternModerationView.as_view(), name="api-pattern-moderation"),
    path("patterns/<int:pk>/history/", PatternHistoryView.as_view(), name="api-pattern-history"),
    path("patterns/<int:pk>/similar/", PatternSimilarView.as_view(), name="api-pattern-similar"),
    path("patterns/<int:pk>/tags/", PatternTagSuggestionsView.as_view(), name="api-pattern-tags"),
    path(
        "patterns/<int:pk>/tags/<int:suggestion_id>/",
        TagSuggestionDecisionView.as_view(),
        name="api-pattern-tag-decision",
    ),
    # --- listings and shops (issue 12, h/shops) ---
    path(
        "patterns/<int:pk>/unpublish/",
        PatternLifecycleView.as_view(action="unpublish"),
        name="api-pattern-unpublish",
    ),
    path("creators/<str:username>/", CreatorDetailView.as_view(), name="api-creator-detail"),
    path("patterns/<int:pk>/resubmit/", PatternResubmitView.as_view(), name="api-pattern-resubmit"),
    path("patterns/<int:pk>/publish/", PatternLifecycleView.as_view(action="publish"), name="api-pattern-publish"),
    path("search/image/", ImageSearchView.as_view(), name="api-search-image"),
    path("uploads/", UploadSessionCreateView.as_view(), name="api-uploads"),
    path("uploads/<uuid:pk>/", UploadSessionDetailView.as_view(), name="api-upload-detail"),
    path("orders/", OrderCreateView.as_view(), name="api-orders"),
    path("orders/<int:pk>/", OrderDetailView.as_view(), name="api-order-detail"),
    path("orders/<int:pk>/refund/", OrderRefundView.as_view(), name="api-order-refund"),
    path("library/", LibraryView.as_view(), name="api-library"),
    path("stripe/webhook/", stripe_webhook, name="api-stripe-webhook"),
    # --- webhooks (h/webhooks) ---
    path("webhooks/endpoints/", EndpointListCreateView.as_view(), name="api-webhook-endpoints"),
    path("webhooks/endpoints/<int:pk>/", EndpointDetailView.as_view(), name="api-webhook-endpoint"),
    path(
        "webhooks/endpoints/<int:pk>/rotate-secret/",
        EndpointRotateSecretView.as_view(),
        name="api-webhook-endpoint-rotate-secret",
    ),
    path("webhooks/endpoints/<int:pk>/test/", EndpointTestView.as_view(), name="api-webhook-endpoint-test"),
    path(
        "webhooks/endpoints/<int:pk>/deliveries/",
        EndpointDeliveriesView.as_view(),
        name="api-webhook-endpoint-deliveries",
    ),
    path(
        "webhooks/endpoints/<int:pk>/deliveries/<int:delivery_id>/replay/",
        DeliveryReplayView.as_view(),
        name="api-webhook-delivery-replay",
    ),
]
