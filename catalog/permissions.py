"""Staff power is a Django permission, not the ``is_staff`` flag alone.

A staff account only gets into the admin; what it may see and do there is given by its model
permissions, and the API and the pages follow the same rule (a superuser holds every permission).
Which permission guards what:

=====================================================  ==========================================
approve or reject a pattern (API, admin actions)       ``catalog.change_pattern``
read another creator's unpublished pattern or status   ``catalog.view_pattern`` (or change)
read another creator's tag suggestions                 ``catalog.view_tagsuggestion`` (or change)
decide another creator's tag suggestion                ``catalog.change_tagsuggestion``
refund an order (API, admin action)                    ``payments.change_order``
=====================================================  ==========================================

Staff-only endpoints (moderation, refunds) answer 403 for any id, before the lookup, so they reveal
nothing. Resources that belong to a creator answer 404 to staff without the read permission, exactly
what any other user gets, and 403 to staff who may read but not change them.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

MODERATE_PATTERNS = "catalog.change_pattern"
VIEW_PATTERNS = ("catalog.view_pattern", "catalog.change_pattern")
VIEW_TAG_SUGGESTIONS = ("catalog.view_tagsuggestion", "catalog.change_tagsuggestion")
DECIDE_TAG_SUGGESTIONS = "catalog.change_tagsuggestion"
REFUND_ORDERS = "payments.change_order"


def staff_has_perm(user: Any, *perms: str) -> bool:
    """Whether ``user`` is active staff holding at least one of ``perms``."""
    if not (getattr(user, "is_active", False) and getattr(user, "is_staff", False)):
        return False
    return any(user.has_perm(perm) for perm in perms)


class StaffPermission(BasePermission):
    """DRF permission: active staff holding one of ``perms``; build one with ``staff_with``."""

    perms: tuple[str, ...] = ()
    message = "Your staff account does not have the permission this action needs."

    def has_permission(self, request: Any, view: Any) -> bool:
        return staff_has_perm(request.user, *self.perms)


def staff_with(*perms: str) -> type[StaffPermission]:
    return type("StaffWith", (StaffPermission,), {"perms": perms})
