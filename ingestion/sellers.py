"""Who may sell: a verified e-mail address first (issue 12; TESSERA_SELL_REQUIRES_VERIFIED_EMAIL)."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings

from catalog.selectors import creator_selling_suspended
from catalog.services import SUSPENDED_REASON

NOT_VERIFIED = "Verify your e-mail address before selling: follow the link we e-mailed you, or send a new one."


def may_sell(user: Any) -> bool:
    """True when selling does not need a verified address, or ``user`` has one (staff always may)."""
    if not settings.TESSERA_SELL_REQUIRES_VERIFIED_EMAIL or getattr(user, "is_staff", False):
        return True
    return EmailAddress.objects.filter(user=user, verified=True).exists()


def selling_refusal(user: Any) -> str:
    """Why ``user`` may not submit a pattern now ("" when they may): an unverified address, or selling suspended
    under the repeat-infringer policy (issue 14)."""
    if not may_sell(user):
        return NOT_VERIFIED
    if creator_selling_suspended(user_id=getattr(user, "pk", None)):
        return SUSPENDED_REASON
    return ""
