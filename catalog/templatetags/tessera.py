"""Template helpers."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def money(amount: int | None, currency: str = "") -> str:
    """Format integer minor units: ``money(1250, "USD")`` → ``"USD 12.50"``; zero is "Free"."""
    if not amount:
        return "Free"
    return f"{currency} {amount // 100}.{amount % 100:02d}".strip()


@register.filter
def filesize(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
