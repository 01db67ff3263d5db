"""The whole API flow as an outside client sees it: a real Celery worker, real Redis, localstripe."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
import requests
import trimesh
from django.conf import settings

from catalog.models import User
from delivery.models import DownloadEvent
from marketplace import devserver
from payments.models import Order
from tests import samples
from tests.conftest import wait_for
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.e2e


def _token(base: str, username: str) -> dict[str, str]:
    response = requests.post(
        f"{base}/api/v1/auth/token/", data={"username": username, "password": "secret-pass-123"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Token {response.json()['token']}"}


def test_upload_moderate_search_buy_download(live_server: Any, celery_worker_process: Any, localstripe: str) -> None:
    base = live_server.url
    devserver.register_localstripe_webhook(
        port=settings.LOCALSTRIPE_PORT,
        url=f"{base}/api/v1/stripe/webhook/",
        secret=settings.STRIPE_WEBHOOK_SECRET,
    )
    creator: User = UserFactory.create(username="creator_cora")
    buyer: User = UserFactory.create(username="buyer_bo")
    StaffFactory.create(username="mod_max")
    UserFactory.create(username="other_olga")
    creator_auth = _token(base, "creator_cora")

    stl = samples.blob_stl()
    svg = samples.svg_square()
    response = requests.post(
        f"{base}/api/v1/patterns/",
        headers=creator_auth,
        data={
            "title": "Zeppelin hangar kit",
            "description": "A cube and a cutting template.",
            "price": "750",
            "currency": "usd",
            "licence": "personal",
            "category": "3d-printing",
        },
        files=[("files", ("hangar.stl", io.BytesIO(stl))), ("files", ("template.svg", io.BytesIO(svg)))],
        timeout=30,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "processing"
    assert [f["format"] for f in created["files"]] == ["stl", "svg"]
    assert created["files"][0]["sha256"] == hashlib.sha256(stl).hexdigest()
    pattern_id = created["id"]

    def reviewed() -> dict[str, Any] | None:
        body = requests.get(f"{base}/api/v1/patterns/{pattern_id}/", headers=creator_auth, timeout=10).json()
        # Done when validated and tagged: "ready" comes only after the tagger (issue 10), not with the review state.
        finished = body["status"] not in ("processing", "needs_review") or body["processing_step"] == "ready"
        return body if finished else None

    detail = wait_for(reviewed, timeout=180, what="the worker to process and tag the upload")
    assert detail["status"] == "needs_review", detail["status_reason"]
    assert detail["processing_step"] == "ready"
    assert [f["status"] for f in detail["files"]] == ["valid", "valid"]
    assert detail["files"][0]["validation"]["properties"]["bounding_box_mm"] == [66.0, 51.368, 37.066]
    assert len(detail["previews"]) == 4  # three mesh views and one drawing
    # Before moderation the previews are the creator's (and moderators') only.
    preview = requests.get(detail["previews"][0]["url"], headers=creator_auth, timeout=10)
    assert preview.status_code == 200
    assert preview.content.startswith(b"\x89PNG")
    assert requests.get(detail["previews"][0]["url"], timeout=10).status_code == 404

    # Nobody else sees it before moderation; the creator cannot moderate their own pattern.
    assert requests.get(f"{base}/api/v1/patterns/{pattern_id}/", timeout=10).status_code == 404
    denied = requests.post(
        f"{base}/api/v1/patterns/{pattern_id}/moderation/",
        headers=creator_auth,
        json={"action": "approve"},
        timeout=10,
    )
    assert denied.status_code == 403
    approved = requests.post(
        f"{base}/api/v1/patterns/{pattern_id}/moderation/",
        headers=_token(base, "mod_max"),
        json={"action": "approve"},
        timeout=10,
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "published"
    published_previews = requests.get(f"{base}/api/v1/patterns/{pattern_id}/", timeout=10).json()["previews"]
    public = requests.get(published_previews[0]["url"], timeout=10)
    assert (public.status_code, public.content[:4]) == (200, b"\x89PNG")

    found = requests.get(f"{base}/api/v1/patterns/", params={"q": "zeppelin"}, timeout=10).json()
    assert [p["id"] for p in found["results"]] == [pattern_id]

    buyer_auth = _token(base, "buyer_bo")
    order = requests.post(f"{base}/api/v1/orders/", headers=buyer_auth, json={"pattern_ids": [pattern_id]}, timeout=30)
    assert order.status_code == 201, order.text
    order_body = order.json()
    assert (order_body["amount"], order_body["currency"], order_body["status"]) == (750, "USD", "pending")
    intent_id = order_body["client_secret"].split("_secret_")[0]

    # The buyer's card, confirmed at the (local) Stripe API as Stripe.js would.
    stripe_auth = {"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"}
    method = requests.post(
        f"{localstripe}/v1/payment_methods",
        headers=stripe_auth,
        timeout=10,
        data={
            "type": "card",
            "card[number]": "4242424242424242",
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
        },
    )
    assert method.status_code == 200, method.text
    attach = requests.post(
        f"{localstripe}/v1/payment_intents/{intent_id}",
        headers=stripe_auth,
        data={"payment_method": method.json()["id"]},
        timeout=10,
    )
    assert attach.status_code == 200, attach.text
    confirm = requests.post(f"{localstripe}/v1/payment_intents/{intent_id}/confirm", headers=stripe_auth, timeout=10)
    assert confirm.status_code == 200, confirm.text
    assert confirm.json()["status"] == "succeeded"

    def paid() -> dict[str, Any] | None:
        body = requests.get(f"{base}/api/v1/orders/{order_body['id']}/", headers=buyer_auth, timeout=10).json()
        return body if body["status"] == "paid" else None

    paid_order = wait_for(paid, timeout=30, what="the payment_intent.succeeded webhook")
    assert [item["pattern_id"] for item in paid_order["items"]] == [pattern_id]

    library = requests.get(f"{base}/api/v1/library/", headers=buyer_auth, timeout=10).json()
    assert [entry["pattern"]["id"] for entry in library] == [pattern_id]
    files = library[0]["files"]
    assert [f["name"] for f in files] == ["hangar.stl", "template.svg"]

    # The worker marks a personal copy for this buyer; until it is ready the link answers 202.
    def fetched() -> requests.Response | None:
        response = requests.get(files[0]["download_url"], headers=buyer_auth, timeout=10)
        assert response.status_code in (200, 202), response.text
        return response if response.status_code == 200 else None

    downloaded = wait_for(fetched, timeout=60, what="the buyer's marked copy")
    assert "hangar.stl" in downloaded.headers["Content-Disposition"]
    assert downloaded.content != stl
    assert len(downloaded.content) == len(stl)

    # A leaked copy of it, re-exported, is traced back to this order.
    from delivery.leaks import leak_trace_record

    reexported: Any = trimesh.load(io.BytesIO(downloaded.content), file_type="stl")
    reexported.apply_translation([5, 5, 5])
    trace = leak_trace_record(data=str(reexported.export(file_type="obj")).encode(), file_name="leak.obj")
    assert trace.result.get("order_id") == order_body["id"], trace.result

    # The same link is useless to anyone else, and records nothing for them.
    stolen = requests.get(files[0]["download_url"], headers=_token(base, "other_olga"), timeout=10)
    assert stolen.status_code == 404
    assert requests.get(files[0]["download_url"], timeout=10).status_code == 404
    assert list(DownloadEvent.objects.values_list("user__username", flat=True)) == ["buyer_bo"]
    assert Order.objects.get(pk=order_body["id"]).buyer == buyer
    assert creator.patterns.get().status == "published"

    # Staff refund the order through Stripe; Stripe's charge.refunded webhook revokes the licence.
    refund = requests.post(
        f"{base}/api/v1/orders/{order_body['id']}/refund/", headers=_token(base, "mod_max"), timeout=30
    )
    assert refund.status_code == 202, refund.text
    assert (
        requests.post(f"{base}/api/v1/orders/{order_body['id']}/refund/", headers=buyer_auth, timeout=10).status_code
        == 403
    )

    def refunded() -> dict[str, Any] | None:
        body = requests.get(f"{base}/api/v1/orders/{order_body['id']}/", headers=buyer_auth, timeout=10).json()
        return body if body["status"] == "refunded" else None

    assert wait_for(refunded, timeout=30, what="the charge.refunded webhook")["amount_refunded"] == 750
    assert requests.get(f"{base}/api/v1/library/", headers=buyer_auth, timeout=10).json() == []
    assert requests.get(files[0]["download_url"], headers=buyer_auth, timeout=10).status_code == 404
    from payments import ledger

    assert ledger.creator_balance(creator=creator, currency="USD") == 0
    assert ledger.trial_balance() == 0
