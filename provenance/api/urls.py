from django.urls import path

from provenance.api.views import CheckpointLatestView, ConsistencyView, PatternProvenanceView

urlpatterns = [
    path("patterns/<int:pk>/provenance/", PatternProvenanceView.as_view(), name="api-pattern-provenance"),
    path("provenance/checkpoint/", CheckpointLatestView.as_view(), name="api-provenance-checkpoint"),
    path("provenance/consistency/", ConsistencyView.as_view(), name="api-provenance-consistency"),
]
