"""``GET /api/v1/patterns/{id}/bought-together/``: the precomputed "frequently bought together" of a pattern."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.recommendations import selectors
from catalog import selectors as catalog_selectors
from catalog.api.serializers import PatternSerializer

BoughtTogetherOutput = inline_serializer(
    "BoughtTogether",
    {
        "pattern": PatternSerializer(),
        "score": serializers.FloatField(
            help_text="Lift: how many times more often the two are bought together than chance would have it."
        ),
    },
    many=True,
)


class PatternBoughtTogetherView(APIView):
    """Published patterns bought together with this one, best first (by lift), as the pattern list shows them.

    404 for a pattern the caller may not see (as ``GET /api/v1/patterns/{id}/``); ``[]`` when none yet.
    """

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: BoughtTogetherOutput}, operation_id="patterns_bought_together_list")
    def get(self, request: Request, pk: int) -> Response:
        if not catalog_selectors.pattern_visible_to(user=request.user).filter(pk=pk).values("pk").exists():
            raise Http404("No such pattern.")
        context = {"request": request}
        return Response(
            [
                {"pattern": PatternSerializer(pattern, context=context).data, "score": round(score, 4)}
                for pattern, score in selectors.pattern_bought_together(pattern_id=pk)
            ]
        )
