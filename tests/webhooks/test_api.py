"""The endpoint API: what an owner, another user, an anonymous client and an attacker aiming at internal addresses
get back, and that nothing is saved on a refusal."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from tests.conftest import token_client
from tests.factories import StaffFactory, UserFactory
from webhooks.models import Delivery, Endpoint

ENDPOINTS = "/api/v1/webhooks/endpoints/"


def _create(client: APIClient, **body: object) -> dict[str, Any]:
    payload = {"url": "http://127.0.0.1:8649/hooks", "events": ["order.paid"], **body}
    response = client.post(ENDPOINTS, payload, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


@pytest.mark.django_db
def test_a_creator_registers_an_endpoint_and_sees_its_secret_only_once() -> None:
    creator = UserFactory.create()
    client = token_client(creator)
    created = _create(client, description="My shop sync")
    assert set(created) >= {"id", "url", "events", "secret", "status"}
    assert created["url"] == "http://127.0.0.1:8649/hooks"
    assert created["events"] == ["order.paid"]
    assert created["status"] == "active"
    assert str(created["secret"]).startswith("whsec_")
    endpoint = Endpoint.objects.get()
    assert (endpoint.owner, endpoint.secret, endpoint.description) == (creator, created["secret"], "My shop sync")

    listed = client.get(ENDPOINTS).json()
    assert listed["count"] == 1
    assert [row["id"] for row in listed["results"]] == [created["id"]]
    assert "secret" not in listed["results"][0]
    detail = client.get(f"{ENDPOINTS}{created['id']}/").json()
    assert "secret" not in detail
    assert detail["description"] == "My shop sync"


@pytest.mark.django_db
def test_events_are_checked_against_what_the_account_is_offered() -> None:
    creator_client = token_client(UserFactory.create())
    refused = creator_client.post(
        ENDPOINTS, {"url": "http://127.0.0.1:8649/", "events": ["order.paid", "entitlement.granted"]}, format="json"
    )
    assert refused.status_code == 400
    message = refused.json()["events"][0]
    assert "entitlement.granted" in message
    assert "order.paid, order.refunded, pattern.published, pattern.rejected, payout.paid" in message
    assert (
        creator_client.post(ENDPOINTS, {"url": "http://127.0.0.1:8649/", "events": []}, format="json").status_code
        == 400
    )
    assert Endpoint.objects.count() == 0

    # Staff may subscribe to every type of the marketplace.
    staff_client = token_client(StaffFactory.create())
    created = _create(staff_client, events=["entitlement.granted", "pattern.submitted", "order.paid"])
    assert created["events"] == ["entitlement.granted", "pattern.submitted", "order.paid"]

    endpoint_id = _create(creator_client)["id"]
    patched = creator_client.patch(f"{ENDPOINTS}{endpoint_id}/", {"events": ["leak.traced"]}, format="json")
    assert patched.status_code == 400
    assert Endpoint.objects.get(pk=endpoint_id).events == ["order.paid"]
    patched = creator_client.patch(
        f"{ENDPOINTS}{endpoint_id}/", {"events": ["pattern.published", "payout.paid"]}, format="json"
    )
    assert patched.status_code == 200
    assert patched.json()["events"] == ["pattern.published", "payout.paid"]


@pytest.mark.django_db
def test_another_users_endpoint_does_not_exist_for_them() -> None:
    owner_client = token_client(UserFactory.create())
    endpoint_id = _create(owner_client)["id"]
    with transaction.atomic():
        delivery_id = owner_client.post(f"{ENDPOINTS}{endpoint_id}/test/").json()["id"]
    stranger = token_client(UserFactory.create())
    base = f"{ENDPOINTS}{endpoint_id}/"
    assert stranger.get(base).status_code == 404
    assert stranger.patch(base, {"description": "mine now"}, format="json").status_code == 404
    assert stranger.delete(base).status_code == 404
    assert stranger.post(f"{base}rotate-secret/").status_code == 404
    assert stranger.post(f"{base}test/").status_code == 404
    assert stranger.get(f"{base}deliveries/").status_code == 404
    assert stranger.post(f"{base}deliveries/{delivery_id}/replay/").status_code == 404
    assert stranger.get(ENDPOINTS).json()["count"] == 0
    endpoint = Endpoint.objects.get()
    assert endpoint.description == ""
    assert Delivery.objects.count() == 1
    assert APIClient().get(ENDPOINTS).status_code == 401


@pytest.mark.django_db
def test_rotate_test_deliveries_replay_and_delete() -> None:
    client = token_client(UserFactory.create())
    created = _create(client)
    base = f"{ENDPOINTS}{created['id']}/"
    rotated = client.post(f"{base}rotate-secret/").json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"]
    endpoint = Endpoint.objects.get()
    assert endpoint.previous_secret == created["secret"]
    assert endpoint.signing_secrets() == [rotated["secret"], created["secret"]]

    sent = client.post(f"{base}test/")
    assert sent.status_code == 202
    assert sent.json()["event"] == "webhook.test"
    assert sent.json()["status"] == "pending"
    deliveries = client.get(f"{base}deliveries/").json()
    assert [row["event"] for row in deliveries["results"]] == ["webhook.test"]
    delivery = Delivery.objects.get()
    delivery.status = Delivery.Status.FAILED
    delivery.attempt_count = 8
    delivery.save()
    replayed = client.post(f"{base}deliveries/{delivery.pk}/replay/")
    assert replayed.status_code == 202
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("pending", 0)

    client.patch(base, {"status": "disabled"}, format="json")
    refused = client.post(f"{base}deliveries/{delivery.pk}/replay/")
    assert refused.status_code == 400
    assert "disabled" in str(refused.json())
    assert client.post(f"{base}test/").status_code == 400

    assert client.delete(base).status_code == 204
    assert Endpoint.objects.count() == 0
    assert Delivery.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("https://127.0.0.1/hook", "127.0.0.1, a loopback address"),
        ("https://10.1.2.3/hook", "10.1.2.3, a private network address"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254, a cloud metadata address"),
        ("https://[::1]/hook", "::1, a loopback address"),
        ("https://[::ffff:127.0.0.1]/hook", "(IPv4 127.0.0.1), a loopback address"),
        ("https://localhost/hook", "a loopback address"),
        ("https://[fd00:ec2::254]/", "a cloud metadata address"),
        ("https://100.64.0.1/", "not on the public internet"),
    ],
)
def test_the_ssrf_guard_refuses_internal_addresses_in_production(settings, url: str, named: str) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_WEBHOOKS_ALLOW_PRIVATE = False
    client = token_client(UserFactory.create())
    response = client.post(ENDPOINTS, {"url": url, "events": ["order.paid"]}, format="json")
    assert response.status_code == 400
    message = response.json()["url"][0]
    assert named in message
    assert "Webhooks are only sent to public internet addresses." in message
    assert Endpoint.objects.count() == 0


@pytest.mark.django_db
def test_production_wants_https_and_a_known_host(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_WEBHOOKS_ALLOW_PRIVATE = False
    client = token_client(UserFactory.create())
    plain = client.post(ENDPOINTS, {"url": "http://example.com/hook", "events": ["order.paid"]}, format="json")
    assert plain.status_code == 400
    assert plain.json()["url"] == ["Use an https:// URL: webhooks are only sent over HTTPS."]
    unknown = client.post(
        ENDPOINTS, {"url": "https://no-such-host.invalid/hook", "events": ["order.paid"]}, format="json"
    )
    assert unknown.status_code == 400
    assert unknown.json()["url"] == ["The host no-such-host.invalid could not be found; check the URL."]
    creds = client.post(ENDPOINTS, {"url": "https://a:b@127.0.0.1/", "events": ["order.paid"]}, format="json")
    assert creds.status_code == 400
    # A PATCH to an internal URL is refused too, and the endpoint keeps its URL.
    settings.TESSERA_WEBHOOKS_ALLOW_PRIVATE = True
    endpoint_id = _create(client)["id"]
    settings.TESSERA_WEBHOOKS_ALLOW_PRIVATE = False
    moved = client.patch(f"{ENDPOINTS}{endpoint_id}/", {"url": "https://10.0.0.1/"}, format="json")
    assert moved.status_code == 400
    assert Endpoint.objects.get().url == "http://127.0.0.1:8649/hooks"
    assert Endpoint.objects.count() == 1


@pytest.mark.django_db
def test_an_account_has_at_most_the_allowed_number_of_endpoints(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_WEBHOOK_MAX_ENDPOINTS_PER_USER = 2
    client = token_client(UserFactory.create())
    _create(client)
    _create(client)
    refused = client.post(ENDPOINTS, {"url": "http://127.0.0.1:8649/", "events": ["order.paid"]}, format="json")
    assert refused.status_code == 400
    assert "delete one first" in refused.json()["url"][0]
    assert Endpoint.objects.count() == 2


@pytest.mark.django_db
def test_the_lists_cost_the_same_queries_for_one_or_many_rows(django_assert_num_queries: Any) -> None:
    owner = UserFactory.create()
    client = token_client(owner)
    endpoint_id = _create(client)["id"]
    endpoint = Endpoint.objects.get()
    client.post(f"{ENDPOINTS}{endpoint_id}/test/")
    # Token lookup, count, page, plus the deliveries' attempts in one prefetch.
    with django_assert_num_queries(5):
        assert len(client.get(f"{ENDPOINTS}{endpoint_id}/deliveries/").json()["results"]) == 1
    with django_assert_num_queries(3):
        assert len(client.get(ENDPOINTS).json()["results"]) == 1
    for _ in range(4):
        client.post(f"{ENDPOINTS}{endpoint_id}/test/")
    _create(client)
    assert Delivery.objects.filter(endpoint=endpoint).count() == 5
    with django_assert_num_queries(5):
        assert len(client.get(f"{ENDPOINTS}{endpoint_id}/deliveries/").json()["results"]) == 5
    with django_assert_num_queries(3):
        assert len(client.get(ENDPOINTS).json()["results"]) == 2
