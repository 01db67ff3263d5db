"""Outgoing webhooks: Tessera's integrations with outside systems.

Creators and staff register endpoints; every domain event that concerns them is delivered there as a signed
Standard Webhooks message (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``), retried on its own
``webhooks`` queue. It sits at the top of the layering next to analytics: it reads catalog, payments and delivery
through their selectors and event classes; only the composition root (marketplace urls, api_urls, handlers)
imports it.
"""
