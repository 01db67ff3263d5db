from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from payments.cart import cart_ids


def cart(request: HttpRequest) -> dict[str, Any]:
    return {
        "cart_count": len(cart_ids(request.session)) if hasattr(request, "session") else 0,
        "prices_include_tax": settings.TESSERA_PRICES_INCLUDE_TAX,
    }
