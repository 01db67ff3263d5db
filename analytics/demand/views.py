"""``/sell/insights/demand/``: the demand report as a page (period and category selectors, the table)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from analytics.demand.report import demand_report, may_see_demand
from analytics.selectors import PERIODS
from catalog.models import Category


class DemandFilterForm(forms.Form):
    days = forms.TypedChoiceField(
        label="Period", choices=[(days, f"Last {days} days") for days in PERIODS], coerce=int, initial=7, required=False
    )
    category = forms.ModelChoiceField(
        label="Category",
        queryset=Category.objects.order_by("position", "name"),
        to_field_name="slug",
        empty_label="All categories",
        required=False,
    )


@login_required
def demand_page(request: HttpRequest) -> HttpResponse:
    if not may_see_demand(request.user):
        raise PermissionDenied("The demand report is for creators.")
    form = DemandFilterForm(request.GET or None)
    status = 200
    rows = []
    days, category = 7, None
    if request.GET and not form.is_valid():
        status = 400
    else:
        if request.GET:
            days = form.cleaned_data["days"] or 7
            category = form.cleaned_data["category"]
        rows = demand_report(days=days, category=category.slug if category else "")
    context = {
        "form": form,
        "rows": rows,
        "days": days,
        "category": category,
        "min_searchers": settings.TESSERA_DEMAND_MIN_SEARCHERS,
        "invalid": status == 400,
    }
    return render(request, "analytics/demand.html", context, status=status)
