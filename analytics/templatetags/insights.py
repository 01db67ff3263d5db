"""Filters of the insights pages: a rate as a percentage, a change with its sign."""

from __future__ import annotations

from django import template

from catalog.templatetags.tessera import amount_of

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """A fraction as a percentage with one decimal: 0.2 → "20.0%"; None → "–"."""
    if value is None:
        return "–"
    return f"{value * 100:.1f}%"


@register.filter
def signed(value: float | int) -> str:
    """A change with its sign (a true minus sign): 3 → "+3", -2 → "−2", 0 → "0"; floats keep one decimal."""
    text = f"{abs(value):.1f}" if isinstance(value, float) else f"{abs(value)}"
    return f"+{text}" if value > 0 else f"−{text}" if value < 0 else text


@register.filter
def signed_money(value: int, currency: str) -> str:
    """A change of money in minor units with its sign: 1250 → "+USD 12.50"."""
    amount = amount_of(abs(value), currency)
    return f"+{amount}" if value > 0 else f"−{amount}" if value < 0 else amount
