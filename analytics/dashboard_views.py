"""The insights pages: ``/sell/insights/`` (the creator's shop), ``/sell/insights/patterns/<id>/`` (one pattern: its
creator and staff; 404 for anyone else) and ``/staff/insights/`` (the marketplace; staff, 403 otherwise).
``?days=`` 7, 30 (default), 90 or 365, else 400 as the insights API answers; ``?format=csv&table=<name>`` sends
one table as a CSV file. Read from the rollups only (``analytics.selectors``, ``analytics.dashboard``)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from analytics import dashboard, selectors
from catalog.permissions import VIEW_PATTERNS, staff_has_perm
from catalog.selectors import pattern_visible_to

PERIOD_CHOICES = selectors.PERIODS


def _refuse(request: HttpRequest, message: str, *, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, {**context, "error": message, "periods": PERIOD_CHOICES}, status=400)


def _page(
    request: HttpRequest,
    *,
    template: str,
    scope: str,
    name: str,
    load: Any,
    context: dict[str, Any],
) -> HttpResponse:
    """The common part of the three pages: the period, the CSV export or the HTML page."""
    days = selectors.period_days(request.GET.get("days"))
    if days is None:
        return _refuse(request, "Choose a period of 7, 30, 90 or 365 days.", template=template, context=context)
    wanted = request.GET.get("format", "html")
    if wanted not in ("html", "csv"):
        return _refuse(request, "The format is html or csv.", template=template, context=context)
    insights = load(days)
    if wanted == "csv":
        tables = dashboard.csv_tables(insights, scope=scope)
        table = request.GET.get("table", "")
        if table not in tables:
            return _refuse(
                request, f"The table is one of: {', '.join(sorted(tables))}.", template=template, context=context
            )
        columns, rows = tables[table]
        body = "\ufeff" + dashboard.csv_text(columns, rows)  # the BOM: spreadsheets read the file as UTF-8
        response = HttpResponse(body.encode("utf-8"), content_type="text/csv; charset=utf-8")
        filename = f"tessera-{name}-{table.replace('_', '-')}-{days}d-{insights['end'].isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    series = insights["series"]
    return render(
        request,
        template,
        {
            **context,
            "insights": insights,
            "days": days,
            "periods": PERIOD_CHOICES,
            "tiles": dashboard.compare(insights["totals"], insights["previous"]),
            "charts": dashboard.charts(series),
            "active": any(insights["totals"][m] for m in ("views", "impressions", "add_to_cart", "purchases")),
        },
    )


@login_required
def shop_insights_page(request: HttpRequest) -> HttpResponse:
    creator_id = cast(int, request.user.pk)

    def load(days: int) -> dict[str, Any]:
        insights = selectors.shop_insights(creator_id=creator_id, days=days)
        insights["patterns"] = dashboard.pattern_rows(creator_id=creator_id, active=insights["patterns"])
        insights["previews"] = dashboard.preview_details(insights["previews"])
        return insights

    return _page(request, template="analytics/insights_shop.html", scope="shop", name="shop", load=load, context={})


@login_required
def pattern_insights_page(request: HttpRequest, pk: int) -> HttpResponse:
    pattern = pattern_visible_to(user=request.user).filter(pk=pk).first()
    if pattern is None or (pattern.creator_id != request.user.pk and not staff_has_perm(request.user, *VIEW_PATTERNS)):
        raise Http404("No such pattern.")

    def load(days: int) -> dict[str, Any]:
        insights = selectors.pattern_insights(pattern_id=pattern.pk, days=days)
        insights["previews"] = dashboard.preview_details(insights["previews"])
        totals = insights["totals"]
        insights["funnel"] = dashboard.funnel(totals)
        return insights

    return _page(
        request,
        template="analytics/insights_pattern.html",
        scope="pattern",
        name=f"pattern-{pattern.pk}",
        load=load,
        context={"pattern": pattern, "own": pattern.creator_id == request.user.pk},
    )


@login_required
def marketplace_insights_page(request: HttpRequest) -> HttpResponse:
    if not staff_has_perm(request.user, *VIEW_PATTERNS):
        raise PermissionDenied("Marketplace insights are for staff.")

    def load(days: int) -> dict[str, Any]:
        return selectors.marketplace_insights(days=days)

    return _page(
        request,
        template="analytics/insights_marketplace.html",
        scope="marketplace",
        name="marketplace",
        load=load,
        context={},
    )
