"""The S3 storage path (django-storages) against moto in server mode: a real HTTP S3 API on localhost."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer
from storages.backends.s3 import S3Storage

from catalog.models import PatternFile, Preview
from delivery.models import MarkedFile, Package
from tests import samples
from tests.conftest import token_client
from tests.factories import UserFactory, paid_entitlement
from tests.helpers import create_and_process

pytestmark = pytest.mark.django_db
BUCKET = "tessera-test"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    options = {"bucket_name": BUCKET, "endpoint_url": endpoint, "region_name": "us-east-1", "file_overwrite": False}
    # Model fields bind their storage when the models load, so the test swaps it on the fields, the way
    # production settings (AWS_STORAGE_BUCKET_NAME) configure both storages at start-up.
    monkeypatch.setattr(PatternFile._meta.get_field("original"), "storage", S3Storage(location="originals", **options))
    monkeypatch.setattr(Preview._meta.get_field("image"), "storage", S3Storage(location="public", **options))
    deliveries = S3Storage(location="deliveries", **options)
    monkeypatch.setattr(MarkedFile._meta.get_field("file"), "storage", deliveries)
    monkeypatch.setattr(Package._meta.get_field("file"), "storage", deliveries)
    try:
        yield client
    finally:
        server.stop()


def test_originals_and_previews_live_in_s3_and_downloads_are_presigned(s3: Any, settings: Any) -> None:
    content = samples.stl_cube()
    pattern = create_and_process(UserFactory.create(), "cube.stl", content, "S3 cube")
    assert pattern.status == "needs_review", pattern.status_reason
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    stored = PatternFile.objects.get()
    assert f"originals/{stored.original.name}" in keys
    assert sum(key.startswith("public/previews/") for key in keys) == 3
    body = s3.get_object(Bucket=BUCKET, Key=f"originals/{stored.original.name}")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == stored.sha256
    # The validator read the original back from S3 (no local path exists) and produced the report.
    assert stored.validation["properties"]["bounding_box_mm"] == [20.0, 20.0, 20.0]

    buyer = UserFactory.create()
    pattern.status = "published"
    pattern.save(update_fields=["status"])
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern, prepare=True)
    marked = MarkedFile.objects.get(entitlement=entitlement)
    assert s3.head_object(Bucket=BUCKET, Key=f"deliveries/{marked.file.name}")["ContentLength"] == len(content)
    link = token_client(buyer).get("/api/v1/library/").json()[0]["files"][0]["download_url"]
    # Production: the view checks the link and redirects to a short-lived presigned URL; S3 sends the bytes.
    settings.TESSERA_DOWNLOAD_BACKEND = "s3"
    redirect = token_client(buyer).get(link)
    assert redirect.status_code == 302
    url = redirect["Location"]
    assert url.startswith(f"{s3.meta.endpoint_url}/{BUCKET}/deliveries/marked/")
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    assert query["Signature"]
    assert 0 < int(query["Expires"]) - time.time() <= 121
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == marked.file.open("rb").read()
    assert 'filename="cube.stl"' in fetched.headers["Content-Disposition"]
    # Without the signature S3 refuses: the bucket is private.
    assert requests.get(url.split("?")[0], timeout=10).status_code == 403
