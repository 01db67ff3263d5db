"""REST API v1. Outside tools rely on these paths."""

from django.urls import path

from analytics.api.demand import DemandReportView
from analytics.api.recommendations import PatternBoughtTogetherView
from analytics.api.views import MarketplaceInsightsView, PatternInsightsView, ShopInsightsView
from catalog.api.views import (
    CreatorDetailView,
    ImageSearchView,
    PatternDetailView,
    PatternHistoryView,
    PatternLifecycleView,
    PatternModerationView,
    PatternSimilarView,
    PatternTagSuggestionsView,
    PatternVersionDetailView,
    PatternVersionModerationView,
    TagSuggestionDecisionView,
)
from community.api.views import (
    CollectionDetailView,
    CollectionListCreateView,
    CollectionPatternView,
    FavouriteListView,
    FavouriteView,
    FollowView,
    PatternReviewsView,
    ReviewDetailView,
    ReviewHideView,
    ReviewPhotosView,
    ReviewReplyView,
)
from delivery.api.views import LibraryView
from ingestion.api.views import (
    PatternListCreateView,
    PatternResubmitView,
    PatternVersionListCreateView,
    UploadSessionCreateView,
    UploadSessionDetailView,
)
from marketplace.login_paths import obtain_auth_token
from notifications.api.views import NotificationListView, NotificationReadAllView, NotificationReadView
from payments.api.views import OrderCreateView, OrderDetailView, OrderRefundView, stripe_webhook
from trust.api.views import (
    ComplaintCreateView,
    ComplaintResolutionView,
    TakedownActionFiledView,
    TakedownCounterNoticeView,
    TakedownDecisionView,
    TakedownDetailView,
    TakedownListCreateView,
)
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
    path("patterns/<int:pk>/versions/", PatternVersionListCreateView.as_view(), name="api-pattern-versions"),
    path("patterns/<int:pk>/versions/<int:number>/", PatternVersionDetailView.as_view(), name="api-pattern-version"),
    path(
        "patterns/<int:pk>/versions/<int:number>/moderation/",
        PatternVersionModerationView.as_view(),
        name="api-pattern-version-moderation",
    ),
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
    # --- community: reviews, favourites, collections, follows (issue 12) ---
    path("patterns/<int:pk>/reviews/", PatternReviewsView.as_view(), name="api-pattern-reviews"),
    path("patterns/<int:pk>/favourite/", FavouriteView.as_view(), name="api-pattern-favourite"),
    path("reviews/<int:pk>/", ReviewDetailView.as_view(), name="api-review"),
    path("reviews/<int:pk>/reply/", ReviewReplyView.as_view(), name="api-review-reply"),
    path("reviews/<int:pk>/hide/", ReviewHideView.as_view(), name="api-review-hide"),
    path("reviews/<int:pk>/photos/", ReviewPhotosView.as_view(), name="api-review-photos"),
    path("favourites/", FavouriteListView.as_view(), name="api-favourites"),
    path("collections/", CollectionListCreateView.as_view(), name="api-collections"),
    path("collections/<int:pk>/", CollectionDetailView.as_view(), name="api-collection"),
    path(
        "collections/<int:pk>/patterns/<int:pattern_id>/",
        CollectionPatternView.as_view(),
        name="api-collection-pattern",
    ),
    path("creators/<str:username>/follow/", FollowView.as_view(), name="api-creator-follow"),
    # --- recommendations (issue 13, h/recs) ---
    path(
        "patterns/<int:pk>/bought-together/",
        PatternBoughtTogetherView.as_view(),
        name="api-pattern-bought-together",
    ),
    # --- notifications (h/notify) ---
    path("notifications/", NotificationListView.as_view(), name="api-notifications"),
    path("notifications/read-all/", NotificationReadAllView.as_view(), name="api-notifications-read-all"),
    path("notifications/<int:pk>/read/", NotificationReadView.as_view(), name="api-notification-read"),
    # --- demand gaps and trends (issue 13, h/demand) ---
    path("insights/demand/", DemandReportView.as_view(), name="api-insights-demand"),
    # --- takedowns, counter-notices, complaints (issue 14, h/trust) ---
    path("takedowns/", TakedownListCreateView.as_view(), name="api-takedowns"),
    path("takedowns/<int:pk>/", TakedownDetailView.as_view(), name="api-takedown-detail"),
    path("takedowns/<int:pk>/decision/", TakedownDecisionView.as_view(), name="api-takedown-decision"),
    path("takedowns/<int:pk>/counter-notice/", TakedownCounterNoticeView.as_view(), name="api-takedown-counter"),
    path("takedowns/<int:pk>/action-filed/", TakedownActionFiledView.as_view(), name="api-takedown-action-filed"),
    path("complaints/", ComplaintCreateView.as_view(), name="api-complaints"),
    path("complaints/<int:pk>/resolution/", ComplaintResolutionView.as_view(), name="api-complaint-resolution"),
    # --- creator insights (issue 13, h/insights) ---
    path("insights/", ShopInsightsView.as_view(), name="api-insights"),
    path("insights/patterns/<int:pk>/", PatternInsightsView.as_view(), name="api-insights-pattern"),
    path("insights/marketplace/", MarketplaceInsightsView.as_view(), name="api-insights-marketplace"),
]

# --- provenance: proof of authorship (issue 14, h/provenance) ---
from provenance.api.urls import urlpatterns as provenance_urlpatterns  # noqa: E402

urlpatterns += provenance_urlpatterns
