"""E-mail verification on sign-up (allauth), required before selling."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core import mail
from django.test import Client

from tests.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_sign_up_sends_a_verification_link_and_selling_waits_for_it(settings: object, client: Client) -> None:
    settings.TESSERA_SELL_REQUIRES_VERIFIED_EMAIL = True  # type: ignore[attr-defined]
    # A fresh address: allauth rate-limits confirmation mails per address in the cache, which outlives a test.
    address = f"new-{uuid.uuid4().hex[:8]}@example.com"
    response = client.post(
        "/accounts/signup/",
        {
            "email": address,
            "username": "newseller",
            "password1": "a-Long-pass-9",
            "password2": "a-Long-pass-9",
        },
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [address]
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", str(mail.outbox[0].body))
    assert link is not None

    page = client.get("/sell/new/")
    assert page.status_code == 403
    assert b"Verify your e-mail address before selling" in page.content
    from django.contrib.auth import get_user_model

    seller = get_user_model().objects.get(username="newseller")
    api = token_client(seller)
    refused = api.post("/api/v1/patterns/", {}, format="json")
    assert refused.status_code == 403
    assert "Verify your e-mail" in refused.json()["detail"]

    path = link.group(0).split("://", 1)[1].split("/", 1)[1]
    assert client.post(f"/{path}").status_code == 302
    assert client.get("/sell/new/").status_code == 200
    assert api.post("/api/v1/patterns/", {}, format="json").status_code == 400  # past the gate: the form's errors


def test_staff_may_sell_without_a_verified_address(settings: object) -> None:
    settings.TESSERA_SELL_REQUIRES_VERIFIED_EMAIL = True  # type: ignore[attr-defined]
    staff = UserFactory.create(username="mod", is_staff=True)
    assert token_client(staff).post("/api/v1/patterns/", {}, format="json").status_code == 400
