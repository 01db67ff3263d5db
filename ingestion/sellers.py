"""Who may sell: a verified e-mail address first (issue 12; TESSERA_SELL_REQUIRES_VERIFIED_EMAIL)."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings

NOT_VERIFIED = "Verify your e-mail address before selling: follow the link we e-mailed you, or send a new one."


def may_sell(user: Any) -> bool:
    """True when selling does not need a verified address, or ``user`` has one (staff always may)."""
    if not settings.TESSERA_SELL_REQUIRES_VERIFIED_EMAIL or getattr(user, "is_staff", False):
        return True
    return EmailAddress.objects.filter(user=user, verified=True).exists()
