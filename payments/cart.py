"""The cart lives in the session: pattern ids, and which of them are bought with the Commercial tier."""

from __future__ import annotations

from typing import Any

SESSION_KEY = "cart"
COMMERCIAL_KEY = "cart_commercial"


def cart_ids(session: Any) -> list[int]:
    return [int(i) for i in session.get(SESSION_KEY, [])]


def cart_commercial_ids(session: Any) -> list[int]:
    ids = set(cart_ids(session))
    return [int(i) for i in session.get(COMMERCIAL_KEY, []) if int(i) in ids]


def cart_add(session: Any, pattern_id: int, *, commercial: bool = False) -> None:
    ids = cart_ids(session)
    if pattern_id not in ids:
        ids.append(pattern_id)
    session[SESSION_KEY] = ids
    commercial_ids = [i for i in cart_commercial_ids(session) if i != pattern_id]
    session[COMMERCIAL_KEY] = [*commercial_ids, pattern_id] if commercial else commercial_ids


def cart_remove(session: Any, pattern_id: int) -> None:
    session[SESSION_KEY] = [i for i in cart_ids(session) if i != pattern_id]
    session[COMMERCIAL_KEY] = [i for i in session.get(COMMERCIAL_KEY, []) if int(i) != pattern_id]


def cart_clear(session: Any) -> None:
    session[SESSION_KEY] = []
    session[COMMERCIAL_KEY] = []
