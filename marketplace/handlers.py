"""The one registry of event consumers (see marketplace/events/registry.py).

This module is the composition root of the event flow: it may import every app's handlers, and no app imports it
(the kernel finds it through settings.TESSERA_EVENT_REGISTRY). Read it to know what happens after an event.
"""

from __future__ import annotations

from marketplace.events.registry import Registry

registry = Registry()

# --- webhooks (h/webhooks) ---
# Every event type: endpoints choose which they receive; the deliveries are written once, in the handler's
# transaction, and sent on the `webhooks` queue.
from webhooks import handlers as webhooks_handlers  # noqa: E402

registry.outbox("*", webhooks_handlers.event_fan_out)
