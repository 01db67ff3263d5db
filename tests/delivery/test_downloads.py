"""Signed, buyer-bound, expiring download links to the buyer's own marked copies, zips and certificates."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.utils import timezone

from analytics.models import Event
from delivery import watermark
from delivery.models import DownloadEvent, MarkedFile
from delivery.watermark import payload
from marketplace.events.services import outbox_drain
from tests import samples
from tests.conftest import token_client
from tests.factories import PatternFactory, UserFactory, add_file, paid_entitlement

pytestmark = pytest.mark.django_db


def _library(buyer) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return token_client(buyer).get("/api/v1/library/").json()  # type: ignore[no-any-return]


def _link(buyer) -> str:  # type: ignore[no-untyped-def]
    return str(_library(buyer)[0]["files"][0]["download_url"])


def _body(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[no-any-return]


def test_buyer_downloads_their_own_marked_copy_and_it_is_recorded() -> None:
    buyer, pattern = UserFactory.create(), PatternFactory.create(with_file=samples.blob_stl())
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern, prepare=True)
    response = token_client(buyer).get(_link(buyer))
    assert response.status_code == 200
    body = _body(response)
    assert body != samples.blob_stl()
    assert len(body) == len(samples.blob_stl())
    assert body == MarkedFile.objects.get(entitlement=entitlement).file.read()
    readings = watermark.read(body, file_format="stl")
    decoded = payload.decode(key=watermark.secret(), soft=readings[0].soft)
    assert decoded.entitlement_id == entitlement.pk
    assert DownloadEvent.objects.filter(user=buyer, kind="file").count() == 1
    # The analytics row comes from the outbox (download.served), after commit.
    assert Event.objects.filter(kind="download", user=buyer, pattern=pattern).count() == 0
    outbox_drain()
    assert Event.objects.filter(kind="download", user=buyer, pattern=pattern).count() == 1


def test_copy_not_ready_yet_says_so_and_records_nothing() -> None:
    buyer, pattern = UserFactory.create(), PatternFactory.create()
    paid_entitlement(buyer=buyer, pattern=pattern)
    response = token_client(buyer).get(_link(buyer))
    assert response.status_code == 202
    assert response["Retry-After"] == "2"
    assert "preparing" in response.json()["detail"]
    assert DownloadEvent.objects.count() == 0


def test_session_user_downloads_through_the_library_page(client) -> None:  # type: ignore[no-untyped-def]
    buyer, pattern = UserFactory.create(), PatternFactory.create(title="Lamp shade")
    paid_entitlement(buyer=buyer, pattern=pattern, prepare=True)
    client.force_login(buyer)
    page = client.get("/library/")
    assert "Lamp shade" in page.content.decode()
    link = page.context["entries"][0]["files"][0]["download_url"]
    assert client.get(link).status_code == 200


def test_pattern_zip_has_every_file_and_the_licence() -> None:
    buyer, pattern = UserFactory.create(), PatternFactory.create(title="Gear set")
    add_file(pattern, name="gear.svg", content=samples.svg_gear(), file_format="svg")
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern, prepare=True)
    entry = _library(buyer)[0]
    response = token_client(buyer).get(entry["zip_url"])
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(_body(response)))
    assert sorted(archive.namelist()) == ["LICENSE.txt", "certificate.json", "gear.svg", "model.stl"]
    certificate = json.loads(archive.read("certificate.json"))
    assert certificate["order"]["id"] == entitlement.order_item.order_id
    assert certificate["buyer"]["username"] == buyer.username
    assert certificate["pattern"]["title"] == "Gear set"
    assert certificate["licence"]["code"] == "personal"
    assert certificate["verification_url"] == entry["certificate_url"]
    licence_text = archive.read("LICENSE.txt").decode()
    assert "LICENCE CERTIFICATE — Personal" in licence_text
    assert certificate["verification_url"] in licence_text
    assert b"Licensed to" in archive.read("gear.svg")
    assert DownloadEvent.objects.filter(kind="pattern").count() == 1


def test_certificate_verification_says_genuine_tampered_or_withdrawn(api_client) -> None:  # type: ignore[no-untyped-def]
    buyer, pattern = UserFactory.create(), PatternFactory.create()
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern, prepare=True)
    certificate = json.loads(
        zipfile.ZipFile(io.BytesIO(_body(token_client(buyer).get(_library(buyer)[0]["zip_url"])))).read(
            "certificate.json"
        )
    )
    path = certificate["verification_url"].split("://", 1)[1].split("/", 1)[1]
    page = api_client.get("/" + path)
    assert page.status_code == 200
    assert "Genuine and valid." in page.content.decode()
    genuine = api_client.post("/" + path, data=json.dumps(certificate), content_type="application/json").json()
    assert (genuine["genuine"], genuine["valid"]) == (True, True)
    forged = dict(certificate, licence={**certificate["licence"], "code": "commercial"})
    tampered = api_client.post("/" + path, data=json.dumps(forged), content_type="application/json").json()
    assert (tampered["genuine"], tampered["valid"]) == (False, False)
    entitlement.revoked_at, entitlement.revoked_reason = timezone.now(), "refunded"
    entitlement.save()
    withdrawn = api_client.post("/" + path, data=json.dumps(certificate), content_type="application/json").json()
    assert (withdrawn["genuine"], withdrawn["valid"]) == (True, False)
    assert "refunded" in withdrawn["detail"]
    unknown = api_client.get("/licences/verify/00000000-0000-0000-0000-000000000000/")
    assert unknown.status_code == 404


def test_whole_order_as_one_zip() -> None:
    buyer = UserFactory.create()
    first = paid_entitlement(buyer=buyer, pattern=PatternFactory.create(title="Alpha"), prepare=True)
    paid_entitlement(
        buyer=buyer, pattern=PatternFactory.create(title="Beta"), order=first.order_item.order, prepare=True
    )
    from delivery import services

    services.order_package_prepare(order=first.order_item.order)
    link = services.order_download_link_create(order=first.order_item.order)
    response = token_client(buyer).get(link)
    assert response.status_code == 200
    names = sorted(zipfile.ZipFile(io.BytesIO(_body(response))).namelist())
    assert names == [
        "alpha/LICENSE.txt",
        "alpha/certificate.json",
        "alpha/model.stl",
        "beta/LICENSE.txt",
        "beta/certificate.json",
        "beta/model.stl",
    ]
    assert DownloadEvent.objects.filter(kind="order").count() == 2


def test_download_limit_per_entitlement(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_DOWNLOADS_PER_ENTITLEMENT = 2
    buyer = UserFactory.create()
    paid_entitlement(buyer=buyer, pattern=PatternFactory.create(), prepare=True)
    link = _link(buyer)
    client = token_client(buyer)
    assert [client.get(link).status_code for _ in range(3)] == [200, 200, 429]
    assert "downloaded 2 times" in client.get(link).json()["detail"]
    assert DownloadEvent.objects.count() == 2


def test_rate_limit_per_account_says_when_to_come_back(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_DOWNLOADS_PER_HOUR = 3
    buyer = UserFactory.create()
    for _ in range(2):
        paid_entitlement(buyer=buyer, pattern=PatternFactory.create(), prepare=True)
    links = [entry["files"][0]["download_url"] for entry in _library(buyer)]
    client = token_client(buyer)
    statuses = [client.get(links[0]).status_code, client.get(links[1]).status_code, client.get(links[0]).status_code]
    assert statuses == [200, 200, 200]
    limited = client.get(links[1])
    assert limited.status_code == 429
    assert 3500 <= int(limited["Retry-After"]) <= 3601
    assert DownloadEvent.objects.count() == 3


@pytest.mark.parametrize(("backend", "header"), [("x-accel", "X-Accel-Redirect"), ("sendfile", "X-Sendfile")])
def test_web_server_backends_send_no_bytes_from_python(settings, backend: str, header: str) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_DOWNLOAD_BACKEND = backend
    buyer = UserFactory.create()
    entitlement = paid_entitlement(buyer=buyer, pattern=PatternFactory.create(), prepare=True)
    response = token_client(buyer).get(_link(buyer))
    marked = MarkedFile.objects.get(entitlement=entitlement)
    assert response.status_code == 200
    assert response.content == b""
    expected = settings.TESSERA_X_ACCEL_PREFIX + marked.file.name if backend == "x-accel" else marked.file.path
    assert response[header] == expected
    assert 'filename="model.stl"' in response["Content-Disposition"]


@pytest.mark.parametrize("who", ["anonymous", "other buyer", "creator"])
def test_nobody_else_can_use_the_link(api_client, who: str) -> None:  # type: ignore[no-untyped-def]
    buyer, pattern = UserFactory.create(), PatternFactory.create()
    paid_entitlement(buyer=buyer, pattern=pattern, prepare=True)
    link = _link(buyer)
    client = {
        "anonymous": api_client,
        "other buyer": token_client(UserFactory.create()),
        "creator": token_client(pattern.creator),
    }[who]
    assert client.get(link).status_code == 404
    assert DownloadEvent.objects.count() == 0


def test_forged_and_revoked_links_are_404() -> None:
    buyer, pattern = UserFactory.create(), PatternFactory.create()
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern, prepare=True)
    link = _link(buyer)
    client = token_client(buyer)
    assert client.get(link[:-3] + "abc/").status_code == 404
    entitlement.revoked_at = timezone.now()
    entitlement.save()
    assert client.get(link).status_code == 404
    assert DownloadEvent.objects.count() == 0


def test_expired_link_says_so_and_points_to_the_library(client, settings) -> None:  # type: ignore[no-untyped-def]
    buyer, pattern = UserFactory.create(), PatternFactory.create()
    paid_entitlement(buyer=buyer, pattern=pattern, prepare=True)
    link = _link(buyer)
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
