"""The authorship log: uploads and versions append one leaf each (from the outbox), the tables are append-only,
checkpoints are signed notes, and the API serves proofs that verify."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from catalog.events import PatternSubmitted
from marketplace.events.models import HandlerReceipt
from marketplace.events.services import outbox_drain
from provenance import handlers, keys, merkle, note, services
from provenance.models import Checkpoint, LogLeaf
from tests import samples
from tests.conftest import token_client
from tests.factories import PatternFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user: Any) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _submit(creator: Any, content: bytes, name: str = "owl.stl") -> int:
    response = token_client(creator).post(
        "/api/v1/patterns/",
        {"title": "Owl", "price": 0, "licence": "cc-by", "files": [SimpleUploadedFile(name, content)]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def test_an_upload_and_a_new_version_each_append_exactly_one_leaf():
    creator = UserFactory.create(username="maker_mia")
    content = samples.stl_cube()
    pattern_id = _submit(creator, content)
    assert LogLeaf.objects.count() == 0  # appended after commit, by the outbox
    outbox_drain()
    outbox_drain()
    leaf = LogLeaf.objects.get()
    assert (leaf.index, leaf.pattern_id, leaf.version, leaf.creator_id) == (0, pattern_id, 1, creator.pk)
    statement = leaf.leaf_data
    assert f'"pattern":{pattern_id},' in statement
    assert f'"creator":{{"id":{creator.pk},"username":"maker_mia"}}' in statement
    assert f'"sha256":"{hashlib.sha256(content).hexdigest()}"' in statement
    assert f'"size":{len(content)}' in statement
    assert bytes(leaf.leaf_hash) == hashlib.sha256(b"\x00" + statement.encode()).digest()

    published = PatternFactory.create(creator=creator)  # seeded directly: no pattern.submitted, no leaf
    version_bytes = samples.blob_stl()
    response = _client(creator).post(
        f"/api/v1/patterns/{published.pk}/versions/",
        {"files": [SimpleUploadedFile("v2.stl", version_bytes)], "changelog": "Thicker"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    outbox_drain()
    assert LogLeaf.objects.count() == 2
    second = LogLeaf.objects.get(index=1)
    assert (second.pattern_id, second.version) == (published.pk, 2)
    assert f'"sha256":"{hashlib.sha256(version_bytes).hexdigest()}"' in second.leaf_data
    assert "model.stl" not in second.leaf_data  # only version 2's own files

    # A redelivered event (a retried receipt, a second worker) appends nothing.
    handlers.statement_append_on_submit(
        PatternSubmitted(pattern_id=pattern_id, creator_id=creator.pk, title="Owl", file_count=1)
    )
    assert LogLeaf.objects.count() == 2
    assert set(HandlerReceipt.objects.filter(handler__startswith="provenance.").values_list("status", flat=True)) == {
        "done"
    }


def test_the_log_is_append_only_in_the_database():
    pattern = PatternFactory.create()
    leaf = services.leaf_append(pattern_id=pattern.pk, version=1, at=pattern.created_at)
    assert leaf is not None
    checkpoint = services.checkpoint_publish()
    assert checkpoint is not None
    for statement in (
        lambda: LogLeaf.objects.filter(pk=leaf.pk).update(leaf_data="{}"),
        lambda: LogLeaf.objects.filter(pk=leaf.pk).delete(),
        lambda: Checkpoint.objects.filter(pk=checkpoint.pk).update(tree_size=5),
        lambda: Checkpoint.objects.filter(pk=checkpoint.pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            statement()
    with connection.cursor() as cursor, pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        cursor.execute("UPDATE provenance_logleaf SET leaf_hash = %s", [b"\x00" * 32])
    leaf.refresh_from_db()
    assert bytes(leaf.leaf_hash) == merkle.leaf_hash(leaf.leaf_data.encode())


def test_checkpoints_are_signed_notes_published_once_per_growth():
    patterns = PatternFactory.create_batch(3)
    for pattern in patterns[:2]:
        services.leaf_append(pattern_id=pattern.pk, version=1, at=pattern.created_at)
    first = services.checkpoint_publish()
    assert first is not None
    assert services.checkpoint_publish() is None  # the log did not grow
    public = keys.public_key()
    body = note.note_verify(first.note, name=keys.key_name(), public_key=public)
    assert (body.origin, body.tree_size) == ("tessera.localhost/provenance", 2)
    assert body.root_hash == merkle.root([bytes(h) for h in LogLeaf.objects.values_list("leaf_hash", flat=True)])
    assert first.note.startswith(f"tessera.localhost/provenance\n2\n{base64.b64encode(body.root_hash).decode()}\n\n")
    assert first.public_key == base64.b64encode(public).decode()
    services.leaf_append(pattern_id=patterns[2].pk, version=1, at=patterns[2].created_at)
    second = services.checkpoint_publish()
    assert second is not None
    assert [c.tree_size for c in Checkpoint.objects.all()] == [2, 3]


def test_the_provenance_api_answers_the_creator_and_staff_only(user):
    creator = UserFactory.create()
    pattern = PatternFactory.create(creator=creator)
    unpublished = PatternFactory.create(status="needs_review")
    url = f"/api/v1/patterns/{pattern.pk}/provenance/"
    assert _client(None).get(url).status_code == 401
    assert _client(user).get(url).status_code == 403
    assert _client(user).get(f"/api/v1/patterns/{unpublished.pk}/provenance/").status_code == 404
    assert _client(user).get("/api/v1/patterns/999999/provenance/").status_code == 404

    pending = _client(creator).get(url)
    assert pending.status_code == 202
    assert pending["Retry-After"] == "30"
    assert pending.json()["status"] == "pending"

    for other in PatternFactory.create_batch(4):
        services.leaf_append(pattern_id=other.pk, version=1, at=other.created_at)
    leaf = services.leaf_append(pattern_id=pattern.pk, version=1, at=pattern.created_at)
    assert leaf is not None
    assert _client(creator).get(url).json()["leaf_index"] == 4  # appended, not yet in a checkpoint
    assert _client(creator).get(url).status_code == 202
    services.checkpoint_publish()
    services.leaf_append(pattern_id=unpublished.pk, version=1, at=unpublished.created_at)

    for reader in (creator, StaffFactory.create()):
        response = _client(reader).get(url)
        assert response.status_code == 200
        payload = response.json()
        assert set(payload) == {
            "status", "version", "leaf_index", "leaf_data", "tree_size", "inclusion_proof", "checkpoint"
        }  # fmt: skip
        assert (payload["leaf_index"], payload["tree_size"], payload["leaf_data"]) == (4, 5, leaf.leaf_data)
        assert payload["checkpoint"]["public_key"] == keys.public_key_b64()
        body = note.note_verify(
            payload["checkpoint"]["note"],
            name=keys.key_name(),
            public_key=base64.b64decode(payload["checkpoint"]["public_key"]),
        )
        merkle.verify_inclusion(
            4,
            body.tree_size,
            merkle.leaf_hash(payload["leaf_data"].encode()),
            [bytes.fromhex(node) for node in payload["inclusion_proof"]],
            body.root_hash,
        )
    assert _client(creator).get(url + "?version=x").status_code == 400
    assert _client(creator).get(url + "?version=2").status_code == 202


def test_two_checkpoints_prove_the_log_only_grew():
    patterns = PatternFactory.create_batch(7)
    assert APIClient().get("/api/v1/provenance/checkpoint/").status_code == 404
    for pattern in patterns[:3]:
        services.leaf_append(pattern_id=pattern.pk, version=1, at=pattern.created_at)
    services.checkpoint_publish()
    old = APIClient().get("/api/v1/provenance/checkpoint/").json()
    for pattern in patterns[3:]:
        services.leaf_append(pattern_id=pattern.pk, version=1, at=pattern.created_at)
    services.checkpoint_publish()
    new = APIClient().get("/api/v1/provenance/checkpoint/").json()
    public = base64.b64decode(new["public_key"])
    old_body = note.note_verify(old["note"], name=keys.key_name(), public_key=public)
    new_body = note.note_verify(new["note"], name=keys.key_name(), public_key=public)
    assert (old_body.tree_size, new_body.tree_size) == (3, 7)

    response = APIClient().get("/api/v1/provenance/consistency/?first=3&second=7")
    assert response.status_code == 200
    proof = [bytes.fromhex(node) for node in response.json()["proof"]]
    merkle.verify_consistency(3, 7, proof, old_body.root_hash, new_body.root_hash)
    assert APIClient().get("/api/v1/provenance/consistency/?first=7&second=7").json() == {"proof": []}

    for query in ("", "?first=3", "?first=a&second=7", "?first=0&second=7", "?first=5&second=3", "?first=3&second=8",
                  "?first=-1&second=3", "?first=3&second=99999999999999999999"):  # fmt: skip
        bad = APIClient().get(f"/api/v1/provenance/consistency/{query}")
        assert bad.status_code == 400, query


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_get_indexes_without_gaps_or_duplicates():
    patterns = PatternFactory.create_batch(8)
    barrier = threading.Barrier(len(patterns))
    errors: list[BaseException] = []

    def append(pattern_id: int) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                services.leaf_append(pattern_id=pattern_id, version=1, at=patterns[0].created_at)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(p.pk,)) for p in patterns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(LogLeaf.objects.values_list("index", flat=True)) == list(range(8))
    assert sorted(LogLeaf.objects.values_list("pattern_id", flat=True)) == sorted(p.pk for p in patterns)


def test_the_backfill_appends_versions_from_before_the_log_once():
    patterns = PatternFactory.create_batch(3)  # seeded directly: never announced, so not in the log
    services.leaf_append(pattern_id=patterns[1].pk, version=1, at=patterns[1].created_at)
    call_command("provenance_backfill", stdout=io.StringIO())
    assert sorted(LogLeaf.objects.values_list("pattern_id", flat=True)) == sorted(p.pk for p in patterns)
    assert LogLeaf.objects.get(pattern_id=patterns[1].pk).index == 0
    assert Checkpoint.objects.get().tree_size == 3
    call_command("provenance_backfill", stdout=io.StringIO())
    assert LogLeaf.objects.count() == 3
