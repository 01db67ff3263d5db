"""Shapes of the insights API (``analytics.selectors`` output): the OpenAPI schema and the JSON agree."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from analytics.selectors import PERIODS

S = serializers.Serializer


class InsightsQuerySerializer(S[Any]):
    days = serializers.ChoiceField(choices=PERIODS, default=30, help_text="The period: 7, 30, 90 or 365 days.")


class MoneySerializer(S[Any]):
    purchases = serializers.IntegerField(help_text="Paid orders (containing the pattern, for a pattern).")
    revenue = serializers.IntegerField(help_text="Gross item price in minor units, before fees and tax.")
    net = serializers.IntegerField(help_text="Revenue less Tessera's fee, minor units.")


class TotalsSerializer(MoneySerializer):
    views = serializers.IntegerField()
    visitors = serializers.IntegerField(help_text="Visitor-days: each visitor counted once a day.")
    searches = serializers.IntegerField()
    impressions = serializers.IntegerField(help_text="Times the pattern(s) appeared in search results.")
    clicks = serializers.IntegerField(help_text="Page views that came from a Tessera search.")
    add_to_cart = serializers.IntegerField()
    conversion = serializers.FloatField(help_text="purchases / visitors.")


class SeriesPointSerializer(S[Any]):
    day = serializers.DateField()
    views = serializers.IntegerField()
    visitors = serializers.IntegerField()
    add_to_cart = serializers.IntegerField()
    purchases = serializers.IntegerField()
    revenue = serializers.IntegerField()
    net = serializers.IntegerField()


class HourPointSerializer(S[Any]):
    hour = serializers.DateTimeField()
    views = serializers.IntegerField()
    visitors = serializers.IntegerField()
    add_to_cart = serializers.IntegerField()
    purchases = serializers.IntegerField()
    revenue = serializers.IntegerField()
    net = serializers.IntegerField()


class SourceSerializer(MoneySerializer):
    source = serializers.CharField(  # type: ignore[assignment]
        help_text='Referrer host without "www.", "search", "internal" or "direct".'
    )
    visitors = serializers.IntegerField()
    views = serializers.IntegerField()
    conversion = serializers.FloatField()


class CampaignSerializer(MoneySerializer):
    source = serializers.CharField(help_text="utm_source")  # type: ignore[assignment]
    medium = serializers.CharField(help_text="utm_medium")
    campaign = serializers.CharField(help_text="utm_campaign")
    visitors = serializers.IntegerField()
    views = serializers.IntegerField()
    conversion = serializers.FloatField()


class SearchTermSerializer(MoneySerializer):
    query = serializers.CharField()
    impressions = serializers.IntegerField(help_text="Searches for these words that showed it.")
    clicks = serializers.IntegerField(help_text="Page views from a search for these words.")
    visitors = serializers.IntegerField(help_text="Visitors who came from a search for these words.")


class PreviewInsightsSerializer(MoneySerializer):
    preview_id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]
    views = serializers.IntegerField()
    visitors = serializers.IntegerField()
    conversion = serializers.FloatField(help_text="Purchases by buyers who saw it / its visitors.")


class CountrySerializer(MoneySerializer):
    country = serializers.CharField(help_text='The paying card\'s country (ISO 3166-1 alpha-2); "" not reported.')


class BuyerKindSerializer(MoneySerializer):
    kind = serializers.ChoiceField(choices=["new", "returning"])


class InsightsSerializer(TotalsSerializer):
    days = serializers.IntegerField()
    start = serializers.DateField()
    end = serializers.DateField(help_text="The last day of the period (today, UTC), included.")
    currency = serializers.CharField()
    previous = TotalsSerializer(help_text="The same totals for the period just before.")
    series = SeriesPointSerializer(many=True)
    hourly = HourPointSerializer(many=True, help_text="Today (UTC), hour by hour.")
    sources = SourceSerializer(many=True)
    campaigns = CampaignSerializer(many=True)
    search_terms = SearchTermSerializer(many=True)
    previews = PreviewInsightsSerializer(many=True)
    countries = CountrySerializer(many=True)
    buyers = BuyerKindSerializer(many=True)


class PatternInsightsSerializer(InsightsSerializer):
    pattern_id = serializers.IntegerField()


class ShopPatternSerializer(MoneySerializer):
    pattern_id = serializers.IntegerField()
    title = serializers.CharField()
    slug = serializers.CharField()
    status = serializers.CharField()
    views = serializers.IntegerField()
    visitors = serializers.IntegerField()
    impressions = serializers.IntegerField()
    clicks = serializers.IntegerField()
    add_to_cart = serializers.IntegerField()
    conversion = serializers.FloatField()


class ShopInsightsSerializer(InsightsSerializer):
    creator_id = serializers.IntegerField()
    patterns = ShopPatternSerializer(many=True)


class TopQuerySerializer(S[Any]):
    query = serializers.CharField()
    searches = serializers.IntegerField()
    visitors = serializers.IntegerField()
    clicks = serializers.IntegerField()


class MarketplaceInsightsSerializer(InsightsSerializer):
    gmv = serializers.IntegerField(help_text="Gross item sales in minor units.")
    top_queries = TopQuerySerializer(many=True)


def flatten(insights: dict[str, Any]) -> dict[str, Any]:
    """The selectors' dict with its ``totals`` at the top level, as the API answers."""
    data = dict(insights)
    return {**data.pop("totals"), **data}
