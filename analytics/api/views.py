"""``/api/v1/insights/``: a creator's shop; ``/api/v1/insights/patterns/{id}/``: one pattern (its creator and staff
only: another creator's published pattern answers 403, one they may not see 404); ``/api/v1/insights/marketplace/``:
the whole marketplace (staff). ``?days=`` 7, 30 (default), 90 or 365. Read from the rollups only; the selectors'
plain dicts are answered as they are (the serializers describe them for the schema: running a year of series through
DRF serializers tripled the response time)."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.api.serializers import (
    InsightsQuerySerializer,
    MarketplaceInsightsSerializer,
    PatternInsightsSerializer,
    ShopInsightsSerializer,
    flatten,
)
from catalog.permissions import VIEW_PATTERNS, staff_has_perm
from catalog.selectors import pattern_visible_to
from marketplace.schema import FORBIDDEN

TAGS = ["insights"]


def _days(request: Request) -> int:
    query = InsightsQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return int(query.validated_data["days"])


class PatternInsightsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        tags=TAGS, parameters=[InsightsQuerySerializer], responses={200: PatternInsightsSerializer, 403: FORBIDDEN}
    )
    def get(self, request: Request, pk: int) -> Response:
        days = _days(request)
        pattern = pattern_visible_to(user=request.user).filter(pk=pk).first()
        if pattern is None:
            raise NotFound("No such pattern.")
        if pattern.creator_id != request.user.pk and not staff_has_perm(request.user, *VIEW_PATTERNS):
            raise PermissionDenied("Only the pattern's creator and staff see its insights.")
        insights = selectors.pattern_insights(pattern_id=pattern.pk, days=days)
        return Response(flatten(insights))


class ShopInsightsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(tags=TAGS, parameters=[InsightsQuerySerializer], responses={200: ShopInsightsSerializer})
    def get(self, request: Request) -> Response:
        days = _days(request)
        insights = selectors.shop_insights(creator_id=cast(int, request.user.pk), days=days)
        return Response(flatten(insights))


class MarketplaceInsightsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        tags=TAGS, parameters=[InsightsQuerySerializer], responses={200: MarketplaceInsightsSerializer, 403: FORBIDDEN}
    )
    def get(self, request: Request) -> Response:
        days = _days(request)
        if not staff_has_perm(request.user, *VIEW_PATTERNS):
            raise PermissionDenied("Marketplace insights are for staff.")
        insights = selectors.marketplace_insights(days=days)
        return Response(flatten(insights))
