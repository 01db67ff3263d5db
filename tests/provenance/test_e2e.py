"""End to end with a real Celery worker: a submitted pattern's statement is appended by the outbox (events queue)
and lands in a signed, RFC 3161 time-stamped checkpoint (default queue) within a minute, without beat."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from catalog.models import Licence
from ingestion.submit import pattern_create
from provenance import keys, merkle, note
from provenance.models import Checkpoint, CheckpointTimestamp, LogLeaf
from tests import samples
from tests.conftest import wait_for
from tests.factories import UserFactory
from tests.provenance.tsa import TimeStampAuthority, tsa_server


@pytest.fixture
def worker_tsa(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, TimeStampAuthority]]:
    """The local TSA, configured through the environment so the worker process uses it too."""
    with tsa_server() as (url, authority):
        monkeypatch.setenv("TESSERA_PROVENANCE_TSAS", json.dumps([{"url": url, "roots": authority.roots_pem.decode()}]))
        yield url, authority


@pytest.mark.e2e
def test_a_submission_is_in_a_signed_time_stamped_checkpoint_within_a_minute(
    worker_tsa: Any, celery_worker_process: Any
) -> None:
    tsa_url, _ = worker_tsa
    creator = UserFactory.create()
    started = time.monotonic()
    pattern = pattern_create(
        creator=creator,
        title="Owl",
        description="",
        price=0,
        currency="USD",
        licence=Licence.objects.get(code="cc-by"),
        uploads=[SimpleUploadedFile("owl.stl", samples.stl_cube())],
        enqueue=False,  # no ingestion: this test is about the log
    )
    checkpoint = wait_for(lambda: Checkpoint.objects.filter(tree_size=1).first(), timeout=60, what="a checkpoint")
    stamp = wait_for(lambda: CheckpointTimestamp.objects.first(), timeout=60 - (time.monotonic() - started))
    assert time.monotonic() - started < 60
    assert (stamp.checkpoint_id, stamp.tsa_url) == (checkpoint.pk, tsa_url)
    assert LogLeaf.objects.get().pattern_id == pattern.pk

    client = APIClient()
    client.force_authenticate(creator)
    payload = client.get(f"/api/v1/patterns/{pattern.pk}/provenance/").json()
    body = note.note_verify(
        payload["checkpoint"]["note"],
        name=keys.key_name(),
        public_key=base64.b64decode(payload["checkpoint"]["public_key"]),
    )
    merkle.verify_inclusion(0, 1, merkle.leaf_hash(payload["leaf_data"].encode()), [], body.root_hash)
