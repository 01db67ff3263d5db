"""``GET /api/v1/insights/demand/?days=7&category=<slug>``: what buyers searched for and did not find, for any
creator (and staff). A bare list, best first, like the other computed top-N lists (``/patterns/{id}/similar/``):
the report is bounded (``TESSERA_DEMAND_REPORT_LIMIT``), so there is no page to turn."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.demand.report import demand_report, may_see_demand
from analytics.selectors import PERIODS
from catalog.models import Category

TAGS = ["insights"]


class IsCreator(permissions.BasePermission):
    message = "The demand report is for creators: open a shop (Start selling) or upload a pattern first."

    def has_permission(self, request: Any, view: Any) -> bool:
        return may_see_demand(request.user)


class DemandQuerySerializer(serializers.Serializer[dict[str, Any]]):
    days = serializers.ChoiceField(choices=PERIODS, default=7, help_text="The period: 7, 30, 90 or 365 days")
    category = serializers.SlugField(
        required=False, allow_blank=True, default="", max_length=80, help_text="Only searches in this category"
    )

    def validate_category(self, value: str) -> str:
        if value and not Category.objects.filter(slug=value).exists():
            raise serializers.ValidationError(f"There is no category {value!r}.")
        return value


class DemandTrendSerializer(serializers.Serializer[dict[str, Any]]):
    growth = serializers.FloatField(help_text="Later half of the period against the earlier half (0.5 = +50%)")
    rising = serializers.BooleanField()
    change_point = serializers.DateField(allow_null=True, help_text="The day the search rate changed, if it did")


class DemandRowSerializer(serializers.Serializer[dict[str, Any]]):
    query = serializers.CharField(help_text="The group's most searched wording")
    searches = serializers.IntegerField(help_text="Searches that found nothing or whose results no one clicked")
    searchers = serializers.IntegerField(help_text="Distinct people behind them (at least the k-anonymity minimum)")
    results = serializers.IntegerField(help_text="Results the most recent such search showed")
    trend = DemandTrendSerializer()


class DemandReportView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsCreator]

    @extend_schema(tags=TAGS, parameters=[DemandQuerySerializer], responses={200: DemandRowSerializer(many=True)})
    def get(self, request: Request) -> Response:
        query = DemandQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = demand_report(days=int(query.validated_data["days"]), category=query.validated_data["category"])
        return Response(DemandRowSerializer(rows, many=True).data)  # type: ignore[arg-type]
