"""Forms for creators."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms

from catalog.models import Category, Licence


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        # Presence, size, emptiness and format are checked by the ingestion service with precise messages;
        # large files may arrive separately as resumable uploads.
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return list(files)


class PatternForm(forms.Form):
    title = forms.CharField(max_length=140)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)
    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False)
    licence = forms.ModelChoiceField(queryset=Licence.objects.all(), to_field_name="code")
    price = forms.DecimalField(
        min_value=Decimal("0"), max_digits=9, decimal_places=2, initial=Decimal("0"), help_text="0 for free."
    )
    commercial_price = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_digits=9,
        decimal_places=2,
        required=False,
        help_text="Optional, with the Personal licence: also sell a Commercial licence at this price.",
    )
    tags = forms.CharField(
        required=False, max_length=400, help_text="Comma-separated; we suggest more from your files."
    )
    currency = forms.ChoiceField(choices=[("USD", "USD"), ("EUR", "EUR"), ("GBP", "GBP")], initial="USD")
    files = MultipleFileField(  # type: ignore[assignment]
        required=False, help_text="STL, 3MF, OBJ, PLY, SVG, DXF, PDF, PNG or JPEG. Format is detected from the content."
    )

    def clean_commercial_price(self) -> int | None:
        price: Decimal | None = self.cleaned_data.get("commercial_price")
        return None if price is None else int((price * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))

    def clean_price(self) -> int:
        price: Decimal = self.cleaned_data["price"]
        return int((price * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
