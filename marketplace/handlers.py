"""The one registry of event consumers (see marketplace/events/registry.py).

This module is the composition root of the event flow: it may import every app's handlers, and no app imports it
(the kernel finds it through settings.TESSERA_EVENT_REGISTRY). Read it to know what happens after an event.
"""

from __future__ import annotations

from marketplace.events.registry import Registry

registry = Registry()

# --- payments, delivery, analytics (h/money) ---
from analytics import handlers as analytics_handlers  # noqa: E402
from delivery import handlers as delivery_handlers  # noqa: E402

# Invariants, in the transaction of the payment: a paid order has its entitlements; a fully refunded or disputed
# one has none (a won dispute gives them back).
registry.inline("order.paid", delivery_handlers.entitlements_grant)
registry.inline("order.refunded", delivery_handlers.entitlements_revoke_on_refund)
registry.inline("order.disputed", delivery_handlers.entitlements_follow_dispute)
# After commit, from the outbox: the analytics rows creator dashboards count.
registry.outbox("order.paid", analytics_handlers.purchases_record)
registry.outbox("download.served", analytics_handlers.download_record)

# --- tracking (h/tracking) ---
# "Tell us what you wanted": a person's submission, written for the demand insights.
registry.outbox("search.requested", analytics_handlers.search_requested)

# --- webhooks (h/webhooks) ---
# Every event type: endpoints choose which they receive; the deliveries are written once, in the handler's
# transaction, and sent on the `webhooks` queue.
from webhooks import handlers as webhooks_handlers  # noqa: E402

registry.outbox("*", webhooks_handlers.event_fan_out)

# --- notifications (h/notify) ---
# People are told what happened: one notification per (event, person, type), its e-mail sent on the
# `notifications` queue.
from notifications import handlers as notifications_handlers  # noqa: E402

registry.outbox("pattern.published", notifications_handlers.pattern_approved)
registry.outbox("pattern.rejected", notifications_handlers.pattern_rejected)
registry.outbox("pattern.failed", notifications_handlers.pattern_failed)
registry.outbox("copy.flagged", notifications_handlers.copy_flagged)
registry.outbox("order.paid", notifications_handlers.order_paid)
registry.outbox("order.refunded", notifications_handlers.order_refunded)
registry.outbox("payout.paid", notifications_handlers.payout_paid)
registry.outbox("payout.failed", notifications_handlers.payout_failed)
registry.outbox("pattern.version_published", notifications_handlers.version_published)
registry.outbox("review.created", notifications_handlers.review_created)
registry.outbox("pattern.published", notifications_handlers.new_pattern)

# --- versions (h/versions) ---
# After commit: an approved version is prepared as each earlier buyer's own marked copy (delivery queue).
registry.outbox("pattern.version_published", delivery_handlers.version_offer_to_buyers)

# --- shops (issue 12, h/shops) ---
# The sales band on a creator's shop page: a counter on their profile, after commit.
from payments import handlers as payments_handlers  # noqa: E402

registry.outbox("order.paid", payments_handlers.creator_sales_count)

# --- demand gaps and trends (issue 13, h/demand) ---
# Analytics records a creator's weekly demand digest; notifications tells the creator if they opted in.
registry.outbox("demand.digest_ready", notifications_handlers.demand_digest)

# --- version flow (issue 12, h/verflow) ---
# The creator hears that a new version was approved or rejected (earlier buyers hear of it above).
registry.outbox("pattern.version_published", notifications_handlers.version_approved)
registry.outbox("pattern.version_rejected", notifications_handlers.version_rejected)
# The creator of a paid pattern approved while their payouts are not set up hears of it (it waits as a draft).
registry.outbox("pattern.updated", notifications_handlers.pattern_approved_awaiting_payouts)

# --- provenance: proof of authorship (issue 14, h/provenance) ---
# After commit: each upload and each new version appends its statement (creator, sha256 of every original) to the
# append-only Merkle log; a signed checkpoint including it follows on the default queue.
from provenance import handlers as provenance_handlers  # noqa: E402

registry.outbox("pattern.submitted", provenance_handlers.statement_append_on_submit)
registry.outbox("pattern.version_submitted", provenance_handlers.statement_append_on_version)

# --- recommendations (issue 13, h/recs) ---
# A buyer's kept "recommended for you" is dropped at the commit of a grant, so it never offers what they hold.
from analytics.recommendations import handlers as recommendations_handlers  # noqa: E402

registry.inline("entitlement.granted", recommendations_handlers.for_you_forget)

# --- takedowns (issue 14, h/trust) ---
# The parties of a notice are told each step (the claimant by e-mail to the notice's address; the uploader a
# notification with the statement of reasons), after commit on the notifications queue.
registry.outbox("takedown.received", notifications_handlers.takedown_received)
registry.outbox("takedown.removed", notifications_handlers.takedown_removed)
registry.outbox("takedown.rejected", notifications_handlers.takedown_rejected)
registry.outbox("takedown.countered", notifications_handlers.takedown_countered)
registry.outbox("takedown.restored", notifications_handlers.takedown_restored)
registry.outbox("creator.suspended", notifications_handlers.creator_suspended)
registry.outbox("complaint.resolved", notifications_handlers.complaint_resolved)
