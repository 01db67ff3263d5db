from __future__ import annotations

from typing import Any

from django import forms

from webhooks import payloads

# What each event type means to the person choosing (types not listed are shown by name: staff see them all).
EVENT_LABELS = {
    "order.paid": "order.paid — a buyer paid for one of your patterns (your lines of the order)",
    "order.refunded": "order.refunded — an order with your patterns was refunded",
    "pattern.published": "pattern.published — your pattern went on sale",
    "pattern.rejected": "pattern.rejected — a moderator refused your pattern, with the reason",
    "payout.paid": "payout.paid — a payout was sent to you",
}


def _choices(user: Any) -> list[tuple[str, str]]:
    return [
        (event_type, EVENT_LABELS.get(event_type, event_type)) for event_type in payloads.event_types_offered(user=user)
    ]


class EndpointForm(forms.Form):
    url = forms.URLField(
        label="Endpoint URL",
        max_length=2000,
        assume_scheme="https",
        help_text="Where Tessera sends events: an https:// address of your server that answers with a 2xx status.",
    )
    events = forms.MultipleChoiceField(
        label="Events to send",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
    description = forms.CharField(
        label="Description (optional)", max_length=200, required=False, help_text="For you: what this endpoint is for."
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = _choices(user)  # type: ignore[attr-defined]
