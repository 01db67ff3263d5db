"""The leak tracer's evidence reads as a table (buyer, order, mark, match score, file, date), not a dict."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from delivery.models import LeakTrace
from payments.models import Order
from tests.factories import PatternFactory, UserFactory, paid_entitlement

pytestmark = pytest.mark.django_db


def test_evidence_is_a_readable_table() -> None:
    pattern = PatternFactory.create(title="Barn owl")
    buyer = UserFactory.create(username="leaky", email="leaky@example.com")
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern)
    order = Order.objects.get(items__entitlement=entitlement)
    Order.objects.filter(pk=order.pk).update(paid_at=datetime(2026, 3, 4, 5, 6, tzinfo=UTC))
    original = pattern.files.get()
    trace = LeakTrace.objects.create(
        file_name="found.stl",
        sha256="0" * 64,
        file_format="stl",
        entitlement=entitlement,
        confidence=0.999998,
        result={
            "method": "reed-solomon",
            "order_id": order.pk,
            "buyer": "leaky",
            "buyer_email": "leaky@example.com",
            "pattern": "Barn owl",
            "paid_at": "2026-03-04T05:06:00+00:00",
            "downloads": 2,
            "revoked": False,
            "evidence": [
                {
                    "carrier": "vertex",
                    "original_file_id": original.pk,
                    "method": "reed-solomon",
                    "entitlement_id": entitlement.pk,
                    "agreeing_bits": 120,
                    "observed_bits": 128,
                    "confidence": 0.999998,
                },
                {
                    "carrier": "order",
                    "original_file_id": None,
                    "method": "none",
                    "entitlement_id": None,
                    "agreeing_bits": 60,
                    "observed_bits": 128,
                    "confidence": 0.0,
                },
                {"carrier": "read", "detail": "could not read the file: truncated"},
            ],
        },
    )
    client = Client()
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    page = client.get(f"/admin/delivery/leaktrace/{trace.pk}/change/").content.decode()

    assert '<div class="mod-scroll"><table class="trace-table">' in page
    assert "paid 2026-03-04 05:06 UTC" in page
    for header in ("Mark", "Buyer", "Order", "Match score", "File", "Date"):
        assert f'<th scope="col">{header}</th>' in page
    assert (
        f"<tr><td>vertex <small>(reed-solomon)</small></td><td>leaky &lt;leaky@example.com&gt;</td>"
        f'<td><a href="/admin/payments/order/{order.pk}/change/">#{order.pk}</a> · Barn owl</td>'
        "<td>0.999998 <small>(120 of 128 bits agree)</small></td><td>model.stl</td><td>2026-03-04 05:06</td></tr>"
    ) in page
    assert "<td>no buyer decoded</td>" in page
    assert "read without the original" in page
    assert '<td colspan="5">could not read the file: truncated</td>' in page
    assert "{&#x27;carrier&#x27;" not in page
    assert "{'carrier'" not in page
