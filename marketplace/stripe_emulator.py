"""localstripe, plus the parts of Stripe Tessera uses that localstripe does not emulate.

Run as ``python -m marketplace.stripe_emulator --port N``. On top of localstripe's API and Stripe.js it
adds, in memory and for development and tests only:

- Connect Express: ``POST/GET /v1/accounts``, ``POST /v1/account_links`` and an onboarding page that
  (under /_config/, which needs no API key, like a hosted page) completes the account and sends ``account.updated``;
- ``POST/GET /v1/transfers`` (honouring ``Idempotency-Key``), each with a ``transfer`` balance transaction;
- ``charge.refunded`` events when a refund is created (Stripe sends them; localstripe does not);
- Stripe Tax's calculation and transaction calls, with a flat rate per country (``TAX_RATES_BPS``);
- the declines of Stripe's standard test cards (``DECLINED_CARDS``: generic decline, insufficient funds, …)
  when a PaymentIntent is confirmed, as a 402 ``card_error`` with Stripe's code and decline code; 3-D Secure
  cards (4000 0027 6000 3184) stay ``requires_action`` as in localstripe;
- disputes, which a real card can trigger and nothing in localstripe can: ``POST /_emulator/disputes``
  with a charge id opens one (``charge.dispute.created``) and ``POST /_emulator/disputes/{id}/close``
  with ``status=won|lost`` closes it (``charge.dispute.closed``).

None of this is Stripe: it implements just enough of the documented request and event shapes for
Tessera's own code around Connect, refunds and disputes to run end to end.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from localstripe import resources, server
from localstripe import webhooks as localstripe_webhooks
from localstripe.errors import UserError
from localstripe.webhooks import schedule_webhook

_webhook_logger = logging.getLogger("aiohttp.access")
_accounts: dict[str, dict[str, Any]] = {}
_transfers: dict[str, dict[str, Any]] = {}
_idempotent: dict[str, dict[str, Any]] = {}
_disputes: dict[str, dict[str, Any]] = {}


class _Payload:
    """Wraps a plain dict so that localstripe's Event can carry it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def _export(self, expand: Any = None) -> dict[str, Any]:
        return dict(self.data)


def _event(kind: str, data: dict[str, Any]) -> None:
    schedule_webhook(resources.Event(kind, _Payload(data)))


async def _form(request: web.Request) -> dict[str, Any]:
    data = await server.get_post_data(request) or {}
    data.update(server.unflatten_data(request.query) or {})
    return data


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"type": "invalid_request_error", "message": message}}, status=status)


def _once(request: web.Request, key_prefix: str, make: Any) -> dict[str, Any]:
    key = request.headers.get("Idempotency-Key")
    if key and f"{key_prefix}:{key}" in _idempotent:
        return _idempotent[f"{key_prefix}:{key}"]
    result = make()
    if key:
        _idempotent[f"{key_prefix}:{key}"] = result
    return result


async def account_create(request: web.Request) -> web.Response:
    data = await _form(request)

    def make() -> dict[str, Any]:
        account = {
            "id": "acct_" + secrets.token_hex(8),
            "object": "account",
            "type": data.get("type", "express"),
            "email": data.get("email"),
            "country": data.get("country", "US"),
            "details_submitted": False,
            "payouts_enabled": False,
            "charges_enabled": False,
            "created": int(time.time()),
        }
        _accounts[account["id"]] = account
        return account

    return web.json_response(_once(request, "account", make))


async def account_retrieve(request: web.Request) -> web.Response:
    account = _accounts.get(request.match_info["id"])
    return web.json_response(account) if account else _error(404, "No such account")


async def account_link_create(request: web.Request) -> web.Response:
    data = await _form(request)
    account_id = data.get("account", "")
    if account_id not in _accounts:
        return _error(400, "No such account")
    base = f"{request.scheme}://{request.host}"
    query = urlencode({"return_url": data.get("return_url", ""), "refresh_url": data.get("refresh_url", "")})
    return web.json_response(
        {
            "object": "account_link",
            "url": f"{base}/_config/emulator/onboard/{account_id}?{query}",
            "created": int(time.time()),
            "expires_at": int(time.time()) + 300,
        }
    )


async def onboarding_page(request: web.Request) -> web.Response:
    account_id = request.match_info["id"]
    if account_id not in _accounts:
        return _error(404, "No such account")
    if request.method == "POST":
        form = await request.post()
        _accounts[account_id].update(details_submitted=True, payouts_enabled=True, charges_enabled=True)
        _event("account.updated", _accounts[account_id])
        raise web.HTTPFound(str(form.get("return_url") or "/"))
    return_url = request.query.get("return_url", "")
    html = (
        "<!doctype html><title>Stripe Express onboarding (emulated)</title>"
        "<h1>Stripe Express onboarding</h1><p>This local emulator stands in for Stripe's hosted onboarding.</p>"
        f'<form method="post"><input type="hidden" name="return_url" value="{return_url}">'
        '<button type="submit" id="complete-onboarding">Complete onboarding (test data)</button></form>'
    )
    return web.Response(text=html, content_type="text/html")


def _transfer_balance_transaction(transfer: dict[str, Any]) -> None:
    txn = resources.BalanceTransaction.__new__(resources.BalanceTransaction)
    resources.StripeObject.__init__(txn)
    txn.amount = -transfer["amount"]
    txn.available_on = txn.created
    txn.currency = transfer["currency"]
    txn.description = "TRANSFER"
    txn.exchange_rate = 1.0
    txn.fee = 0
    txn.fee_details = []
    txn.reporting_category = "transfer"
    txn.source = transfer["id"]
    txn.status = "available"
    txn.type = "transfer"
    transfer["balance_transaction"] = txn.id


async def transfer_create(request: web.Request) -> web.Response:
    data = await _form(request)
    destination = data.get("destination", "")
    account = _accounts.get(destination)
    if account is None:
        return _error(400, "No such destination account")
    if not account["payouts_enabled"]:
        return _error(400, "The destination account has not finished onboarding")
    try:
        amount = int(data.get("amount", 0))
    except ValueError:
        return _error(400, "Invalid amount")
    if amount <= 0:
        return _error(400, "Invalid amount")

    def make() -> dict[str, Any]:
        transfer = {
            "id": "tr_" + secrets.token_hex(8),
            "object": "transfer",
            "amount": amount,
            "currency": str(data.get("currency", "usd")).lower(),
            "destination": destination,
            "metadata": data.get("metadata") or {},
            "created": int(time.time()),
        }
        _transfer_balance_transaction(transfer)
        _transfers[transfer["id"]] = transfer
        return transfer

    return web.json_response(_once(request, "transfer", make))


async def transfer_list(request: web.Request) -> web.Response:
    data = list(reversed(_transfers.values()))
    return web.json_response({"object": "list", "data": data, "has_more": False, "url": "/v1/transfers"})


async def dispute_open(request: web.Request) -> web.Response:
    data = await _form(request)
    try:
        charge = resources.Charge._api_retrieve(str(data.get("charge", "")))
    except UserError:
        return _error(404, "No such charge")
    dispute = {
        "id": "dp_" + secrets.token_hex(8),
        "object": "dispute",
        "amount": charge.amount,
        "currency": charge.currency,
        "charge": charge.id,
        "payment_intent": charge.payment_intent,
        "reason": data.get("reason", "fraudulent"),
        "status": "needs_response",
        "created": int(time.time()),
    }
    _disputes[dispute["id"]] = dispute
    _event("charge.dispute.created", dispute)
    return web.json_response(dispute)


async def dispute_close(request: web.Request) -> web.Response:
    dispute = _disputes.get(request.match_info["id"])
    if dispute is None:
        return _error(404, "No such dispute")
    data = await _form(request)
    if data.get("status") not in ("won", "lost"):
        return _error(400, "status must be won or lost")
    dispute["status"] = data["status"]
    _event("charge.dispute.closed", dispute)
    return web.json_response(dispute)


# Stripe Tax, reduced to a flat rate per customer country (basis points). Real rates come from Stripe.
TAX_RATES_BPS = {"GB": 2000, "DE": 1900, "FR": 2000, "NL": 2100, "US": 0}
_tax_calculations: dict[str, dict[str, Any]] = {}


async def tax_calculation_create(request: web.Request) -> web.Response:
    data = await _form(request)
    country = str(((data.get("customer_details") or {}).get("address") or {}).get("country", "")).upper()
    rate = TAX_RATES_BPS.get(country, 0)
    inclusive = exclusive = 0
    for line in data.get("line_items") or []:
        amount = int(line["amount"])
        if line.get("tax_behavior") == "inclusive":
            inclusive += amount - (amount * 10000 + (10000 + rate) // 2) // (10000 + rate)
        else:
            exclusive += (amount * rate + 5000) // 10000
    calculation = {
        "id": "taxcalc_" + secrets.token_hex(8),
        "object": "tax.calculation",
        "currency": data.get("currency", "usd"),
        "tax_amount_exclusive": exclusive,
        "tax_amount_inclusive": inclusive,
        "customer_details": {"address": {"country": country}},
    }
    _tax_calculations[calculation["id"]] = calculation
    return web.json_response(calculation)


async def tax_transaction_create(request: web.Request) -> web.Response:
    data = await _form(request)
    calculation = _tax_calculations.get(str(data.get("calculation", "")))
    if calculation is None:
        return _error(400, "No such tax calculation")

    def make() -> dict[str, Any]:
        return {
            "id": "tax_" + secrets.token_hex(8),
            "object": "tax.transaction",
            "reference": data.get("reference"),
            "calculation": calculation["id"],
        }

    return web.json_response(_once(request, "tax", make))


_original_refund_init = resources.Refund.__init__


def _refund_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _original_refund_init(self, *args, **kwargs)
    charge = resources.Charge._api_retrieve(self.charge)
    exported = charge._export()
    exported.update(
        amount_refunded=charge.amount_refunded,
        refunded=charge.refunded,
        payment_intent=charge.payment_intent,
        refunds={"object": "list", "data": [r._export() for r in charge.refunds._list]},
    )
    _event("charge.refunded", exported)


resources.Refund.__init__ = _refund_init  # type: ignore[method-assign]


# Stripe's documented test cards that are declined when charged (https://docs.stripe.com/testing):
# number -> (error code, decline code, message). localstripe declines these only when attaching a card to
# a customer; Tessera confirms a PaymentIntent with a new PaymentMethod, which localstripe would charge.
DECLINED_CARDS = {
    "4000000000000002": ("card_declined", "generic_decline", "Your card was declined."),
    "4000000000009995": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": ("card_declined", "lost_card", "Your card was declined."),
    "4000000000009979": ("card_declined", "stolen_card", "Your card was declined."),
    "4000000000000069": ("expired_card", "expired_card", "Your card has expired."),
    "4000000000000127": ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    "4000000000000119": (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}
_original_charging_is_declined = resources.PaymentMethod._charging_is_declined
_original_payment_intent_update = resources.PaymentIntent._api_update


def _decline_for(charge: Any) -> tuple[str, str, str] | None:
    method = resources.PaymentMethod._api_retrieve(charge.payment_method)
    return DECLINED_CARDS.get(getattr(method, "_card_number", ""))


def _charging_is_declined(self: Any) -> bool:
    if self.type == "card" and self._card_number in DECLINED_CARDS:
        return True
    return bool(_original_charging_is_declined(self))


def _set_auth_failure(self: Any) -> None:
    code, decline_code, message = _decline_for(self) or ("card_declined", "generic_decline", "Your card was declined.")
    self.status = "failed"
    self.failure_code = code
    self.failure_message = message
    self.outcome = {"type": "issuer_declined", "reason": decline_code, "network_status": "declined_by_network"}


def _raise_failure(self: Any) -> None:
    """Answer as Stripe does: HTTP 402, a card_error with its code and decline code."""
    reason = (getattr(self, "outcome", None) or {}).get("reason", "generic_decline")
    error = UserError(
        402,
        self.failure_message,
        {"code": self.failure_code, "decline_code": reason, "charge": self.id, "payment_intent": self.payment_intent},
    )
    error.body["error"]["type"] = "card_error"
    raise error


@classmethod  # type: ignore[misc]
def _payment_intent_update(cls: Any, id: str, **data: Any) -> Any:  # noqa: A002
    """A new payment method after a decline or an unfinished authentication makes the intent confirmable again."""
    intent = _original_payment_intent_update.__func__(cls, id, **data)
    if data.get("payment_method") and intent.status in ("requires_payment_method", "requires_action"):
        if intent.latest_charge is not None and intent.latest_charge.status == "failed":
            intent.latest_charge = None
        intent.next_action = None
        intent._authentication_failed = False
    return intent


resources.PaymentMethod._charging_is_declined = _charging_is_declined  # type: ignore[method-assign]
resources.Charge._set_auth_failure = _set_auth_failure  # type: ignore[method-assign]
resources.Charge._raise_failure = _raise_failure  # type: ignore[method-assign]
resources.PaymentIntent._api_update = _payment_intent_update  # type: ignore[method-assign]

# Stripe retries a webhook that was not answered 2xx (a crashed or restarting server, a 500) with
# exponential backoff for days; localstripe tries once. Retry here too, bounded to a few minutes, so a
# development server that is restarting still receives every event.
WEBHOOK_RETRY_DELAYS = (1, 2, 4, 8, 15, 30, 60, 60, 60)


async def _send_webhook_with_retries(event: Any) -> None:
    payload = json.dumps(event._export(), indent=2, sort_keys=True).encode("utf-8")
    signed_payload = b"%d.%s" % (event.created, payload)
    await asyncio.sleep(1)
    for endpoint in list(localstripe_webhooks._webhooks.values()):
        if endpoint.events is not None and event.type not in endpoint.events:
            continue
        signature = hmac.new(endpoint.secret.encode("utf-8"), signed_payload, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": f"t={event.created},v1={signature}",
        }
        for attempt, delay in enumerate((*WEBHOOK_RETRY_DELAYS, None), start=1):
            outcome = ""
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                    async with session.post(endpoint.url, data=payload, headers=headers) as response:
                        if 200 <= response.status < 300:
                            _webhook_logger.info('webhook "%s" delivered (attempt %s)', event.type, attempt)
                            break
                        outcome = f"HTTP {response.status}"
            except (TimeoutError, aiohttp.ClientError) as exc:
                outcome = str(exc) or type(exc).__name__
            if delay is None:
                _webhook_logger.warning('webhook "%s" given up after %s attempts: %s', event.type, attempt, outcome)
                break
            _webhook_logger.info('webhook "%s" failed (%s); retrying in %s s', event.type, outcome, delay)
            await asyncio.sleep(delay)


if os.environ.get("TESSERA_EMULATOR_WEBHOOK_RETRIES") == "1":
    # On for `make run` and `make chaos`; off in tests, where a retried event would reach a later test.
    localstripe_webhooks._send_webhook = _send_webhook_with_retries


def _add_routes(app: web.Application) -> None:
    # Inserted ahead of localstripe's own routes would be cleaner, but aiohttp matches in order and
    # none of these paths exist in localstripe, so appending is enough.
    app.router.add_post("/v1/accounts", account_create)
    app.router.add_get("/v1/accounts/{id}", account_retrieve)
    app.router.add_post("/v1/account_links", account_link_create)
    app.router.add_route("*", "/_config/emulator/onboard/{id}", onboarding_page)
    app.router.add_post("/v1/transfers", transfer_create)
    app.router.add_get("/v1/transfers", transfer_list)
    app.router.add_post("/v1/tax/calculations", tax_calculation_create)
    app.router.add_post("/v1/tax/transactions/create_from_calculation", tax_transaction_create)
    app.router.add_post("/_emulator/disputes", dispute_open)
    app.router.add_post("/_emulator/disputes/{id}/close", dispute_close)


_add_routes(server.app)

if __name__ == "__main__":
    server.start()
