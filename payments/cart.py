"""The cart lives in the session: a list of pattern ids."""

from __future__ import annotations

from typing import Any

SESSION_KEY = "cart"


def cart_ids(session: Any) -> list[int]:
    return [int(i) for i in session.get(SESSION_KEY, [])]


def cart_add(session: Any, pattern_id: int) -> None:
    ids = cart_ids(session)
    if pattern_id not in ids:
        ids.append(pattern_id)
    session[SESSION_KEY] = ids


def cart_remove(session: Any, pattern_id: int) -> None:
    session[SESSION_KEY] = [i for i in cart_ids(session) if i != pattern_id]


def cart_clear(session: Any) -> None:
    session[SESSION_KEY] = []
