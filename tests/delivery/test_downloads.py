"""Signed, buyer-bound, expiring download links."""

from __future__ import annotations

import pytest

from analytics.models import Event
from delivery.models import DownloadEvent
from tests import samples
from tests.conftest import token_client
from tests.factories import PatternFactory, UserFactory, paid_entitlement

pytestmark = pytest.mark.django_db


def _link(buyer, pattern) -> str:  # type: ignore[no-untyped-def]
    library = token_client(buyer).get("/api/v1/library/").json()
    return str(library[0]["files"][0]["download_url"])


def test_buyer_downloads_the_original_and_it_is_recorded() -> None:
    buyer, pattern = UserFactory.create(), PatternFactory.create()
    paid_entitlement(buyer=buyer, pattern=pattern)
    response = token_client(buyer).get(_link(buyer, pattern))
    assert response.status_code == 200
    assert response.getvalue() == samples.stl_cube()
    assert DownloadEvent.objects.filter(user=buyer).count() == 1
    assert Event.objects.filter(kind="download", user=buyer, pattern=pattern).count() == 1


def test_session_user_downloads_through_the_library_page(client) -> None:  # type: ignore[no-untyped-def]
    buyer, pattern = UserFactory.create(), PatternFactory.create(title="Lamp shade")
    paid_entitlement(buyer=buyer, pattern=pattern)
    client.force_login(buyer)
    page = client.get("/library/")
    assert "Lamp shade" in page.content.decode()
    link = page.context["entries"][0]["files"][0]["download_url"]
    assert client.get(link).status_code == 200


@pytest.mark.parametrize("who", ["anonymous", "other buyer", "creator"])
def test_nobody_else_can_use_the_link(api_client, who: str) -> None:  # type: ignore[no-untyped-def]
    buyer, pattern = UserFactory.create(), PatternFactory.create()
    paid_entitlement(buyer=buyer, pattern=pattern)
    link = _link(buyer, pattern)
    client = {
        "anonymous": api_client,
        "other buyer": token_client(UserFactory.create()),
        "creator": token_client(pattern.creator),
    }[who]
    assert client.get(link).status_code == 404
    assert DownloadEvent.objects.count() == 0


def test_forged_and_revoked_links_are_404() -> None:
    buyer, pattern = UserFactory.create(), PatternFactory.create()
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern)
    link = _link(buyer, pattern)
    client = token_client(buyer)
    assert client.get(link[:-3] + "abc/").status_code == 404
    from django.utils import timezone

    entitlement.revoked_at = timezone.now()
    entitlement.save()
    assert client.get(link).status_code == 404
    assert DownloadEvent.objects.count() == 0


def test_expired_link_says_so_and_points_to_the_library(client, settings) -> None:  # type: ignore[no-untyped-def]
    buyer, pattern = UserFactory.create(), PatternFactory.create()
    paid_entitlement(buyer=buyer, pattern=pattern)
    link = _link(buyer, pattern)
    settings.DOWNLOAD_LINK_TTL_SECONDS = -1
    api_response = token_client(buyer).get(link)
    assert api_response.status_code == 410
    assert api_response.json()["library_url"] == "/library/"
    client.force_login(buyer)
    page = client.get(link)
    assert page.status_code == 410
    assert "This download link has expired" in page.content.decode()
    assert DownloadEvent.objects.count() == 0


def test_library_requires_login(api_client) -> None:  # type: ignore[no-untyped-def]
    assert api_client.get("/api/v1/library/").status_code == 401
