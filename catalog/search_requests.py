""" "Tell us what you wanted": a person's submission after a search that found little, recorded as a domain
event (``search.requested``) in its own transaction; analytics writes its row from the outbox."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from catalog.events import SearchRequested
from marketplace.events import record
from marketplace.tracking import user_id_of


def search_request_submit(*, user: Any, query: str, wanted: str, path: str = "") -> None:
    """Record what ``user`` (anonymous: no actor) looked for and did not find."""
    with transaction.atomic():
        record(SearchRequested(query=query, wanted=wanted, path=path, actor_id=user_id_of(user)))
