"""Receipts: a creator's receipt verifies offline (``manage.py verify_receipt``, the verify page) against a signed,
RFC 3161 time-stamped checkpoint; each kind of tampering fails with its reason."""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from provenance import keys, services
from provenance.models import CheckpointTimestamp
from provenance.receipt import ReceiptInvalid, receipt_verify
from tests.factories import PatternFactory, UserFactory
from tests.provenance.tsa import TimeStampAuthority

pytestmark = pytest.mark.django_db


def _logged_pattern(creator: Any, *, others: int = 2) -> Any:
    pattern = PatternFactory.create(creator=creator)
    for other in PatternFactory.create_batch(others):
        services.leaf_append(pattern_id=other.pk, version=1, at=other.created_at)
    services.leaf_append(pattern_id=pattern.pk, version=1, at=pattern.created_at)
    for other in PatternFactory.create_batch(2):
        services.leaf_append(pattern_id=other.pk, version=1, at=other.created_at)
    return pattern


def _download(creator: Any, pattern: Any) -> dict[str, Any]:
    client = Client()
    client.force_login(creator)
    response = client.get(f"/sell/patterns/{pattern.pk}/authorship-receipt.json")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="tessera-pattern-{pattern.pk}-v1-receipt.json"'
    return json.loads(response.content)


def _verify_file(tmp_path: Path, bundle: dict[str, Any], *args: str) -> str:
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(bundle))
    output = []

    class Out:
        def write(self, text: str) -> None:
            output.append(text)

        def flush(self) -> None:
            return

    call_command("verify_receipt", str(path), *args, stdout=Out())
    return "".join(output)


def test_a_creators_receipt_verifies_offline_against_a_signed_time_stamped_checkpoint(tsa, tmp_path, settings):
    tsa_url, authority = tsa
    creator = UserFactory.create(username="maker_mia")
    pattern = _logged_pattern(creator)
    services.checkpoint_publish_and_stamp()
    stamp = CheckpointTimestamp.objects.get()
    assert (stamp.tsa_url, stamp.checkpoint.tree_size, authority.requests) == (tsa_url, 5, 1)
    services.checkpoint_publish_and_stamp()
    assert authority.requests == 1  # stamped once per authority

    # A burst: the next checkpoint waits for the authority's interval, then beat stamps it.
    later = PatternFactory.create()
    services.leaf_append(pattern_id=later.pk, version=1, at=later.created_at)
    services.checkpoint_publish_and_stamp()
    assert (authority.requests, CheckpointTimestamp.objects.count()) == (1, 1)
    settings.TESSERA_PROVENANCE_TSA_MIN_INTERVAL_SECONDS = 0
    services.checkpoint_publish_and_stamp()
    assert authority.requests == 2
    assert sorted(CheckpointTimestamp.objects.values_list("checkpoint__tree_size", flat=True)) == [5, 6]

    bundle = _download(creator, pattern)
    assert (bundle["leaf_index"], bundle["tree_size"]) == (2, 5)
    assert [t["tsa_url"] for t in bundle["timestamps"]] == [tsa_url]

    # Offline: no database query at all.
    with CaptureQueriesContext(connection) as queries:
        verified = receipt_verify(bundle, log_public_key=keys.public_key(), tsa_roots_pem=authority.roots_pem)
    assert len(queries) == 0
    assert verified.statement["pattern"] == pattern.pk
    assert verified.statement["creator"] == {"id": creator.pk, "username": "maker_mia"}
    assert [url for url, _ in verified.timestamps] == [tsa_url]

    output = _verify_file(tmp_path, bundle, "--require-timestamp")
    assert output.startswith(f"verified: pattern {pattern.pk} version 1 by maker_mia (id {creator.pk}), 1 file(s)")
    assert "leaf 2 of 5 in tessera.localhost/provenance, checkpoint signature valid (the log's key)" in output
    assert f"time-stamped by {tsa_url} at " in output


def _tamper_statement(bundle: dict[str, Any]) -> None:
    bundle["statement"] = bundle["statement"].replace('"username":"maker_mia"', '"username":"thief_tom"')
    assert "thief_tom" in bundle["statement"]


def _tamper_statement_and_hash(bundle: dict[str, Any]) -> None:
    _tamper_statement(bundle)
    bundle.pop("leaf_hash")


def _tamper_proof(bundle: dict[str, Any]) -> None:
    node = bytearray.fromhex(bundle["inclusion_proof"][0])
    node[0] ^= 1
    bundle["inclusion_proof"][0] = node.hex()


def _tamper_index(bundle: dict[str, Any]) -> None:
    bundle["leaf_index"] = 3


def _tamper_signature(bundle: dict[str, Any]) -> None:
    text, signature_line = bundle["checkpoint"]["note"].split("\n\n")
    dash, name, blob = signature_line.rstrip("\n").split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[20] ^= 1
    bundle["checkpoint"]["note"] = f"{text}\n\n{dash} {name} {base64.b64encode(bytes(raw)).decode()}\n"


def _tamper_checkpoint_size(bundle: dict[str, Any]) -> None:
    bundle["checkpoint"]["note"] = bundle["checkpoint"]["note"].replace("\n5\n", "\n6\n", 1)
    bundle["tree_size"] = 6


def _tamper_timestamp(bundle: dict[str, Any]) -> None:
    raw = bytearray(base64.b64decode(bundle["timestamps"][0]["response"]))
    raw[-10] ^= 1  # inside the ECDSA signature of the token
    bundle["timestamps"][0]["response"] = base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    ("tamper", "part", "reason"),
    [
        (_tamper_statement, "leaf hash", "differs from the receipt's leaf hash"),
        (_tamper_statement_and_hash, "proof", "does not lead to the checkpoint's root hash"),
        (_tamper_proof, "proof", "does not lead to the checkpoint's root hash"),
        (_tamper_index, "proof", "does not lead to the checkpoint's root hash"),
        (_tamper_signature, "signature", "Ed25519 signature does not verify"),
        (_tamper_checkpoint_size, "signature", "Ed25519 signature does not verify"),
        (_tamper_timestamp, "timestamp", "does not verify"),
    ],
)
def test_a_tampered_receipt_fails_naming_what_failed(tsa, tmp_path, tamper, part, reason):
    creator = UserFactory.create(username="maker_mia")
    pattern = _logged_pattern(creator)
    services.checkpoint_publish_and_stamp()
    bundle = _download(creator, pattern)
    receipt_verify(copy.deepcopy(bundle), log_public_key=keys.public_key())
    tamper(bundle)
    with pytest.raises(ReceiptInvalid) as failure:
        receipt_verify(bundle, log_public_key=keys.public_key())
    assert failure.value.part == part
    assert reason in failure.value.message
    with pytest.raises(CommandError, match=f"^not verified: {part}: "):
        _verify_file(tmp_path, bundle)


def test_a_receipt_from_another_key_or_another_authority_fails(tsa, tmp_path):
    creator = UserFactory.create()
    pattern = _logged_pattern(creator, others=0)
    services.checkpoint_publish_and_stamp()
    bundle = _download(creator, pattern)
    other_key = base64.b64encode(b"\x07" * 32).decode()
    with pytest.raises(CommandError, match="^not verified: signature: the checkpoint is signed by a key other"):
        _verify_file(tmp_path, bundle, "--public-key", other_key)
    foreign_roots = tmp_path / "roots.pem"
    foreign_roots.write_bytes(TimeStampAuthority().roots_pem)
    with pytest.raises(CommandError, match="^not verified: timestamp: .*unable to get local issuer certificate"):
        _verify_file(tmp_path, bundle, "--tsa-roots", str(foreign_roots))


def test_a_time_stamp_authority_that_is_down_is_asked_again_later(settings, tsa):
    tsa_url, authority = tsa
    settings.TESSERA_PROVENANCE_TSAS = [{"url": "http://127.0.0.1:9/down", "roots": authority.roots_pem.decode()}]
    pattern = _logged_pattern(UserFactory.create(), others=0)
    assert services.checkpoint_publish_and_stamp() == 3
    assert CheckpointTimestamp.objects.count() == 0
    settings.TESSERA_PROVENANCE_TSAS = [{"url": tsa_url, "roots": authority.roots_pem.decode()}]
    services.checkpoint_publish_and_stamp()
    assert CheckpointTimestamp.objects.get().checkpoint.tree_size == 3
    assert pattern.pk


def test_the_receipt_waits_for_a_checkpoint_and_is_the_creators_only(user):
    creator = UserFactory.create()
    pattern = PatternFactory.create(creator=creator)
    client = Client()
    assert client.get(f"/sell/patterns/{pattern.pk}/authorship-receipt.json").status_code == 302  # sign in
    client.force_login(user)
    assert client.get(f"/sell/patterns/{pattern.pk}/authorship-receipt.json").status_code == 403
    client.force_login(creator)
    pending = client.get(f"/sell/patterns/{pattern.pk}/authorship-receipt.json")
    assert pending.status_code == 202
    assert b"being added to the authorship log" in pending.content
    assert client.get(f"/sell/patterns/{pattern.pk}/authorship-receipt.json?version=zz").status_code == 400
    status_page = client.get(f"/sell/patterns/{pattern.pk}/")
    assert f'href="/sell/patterns/{pattern.pk}/authorship-receipt.json"'.encode() in status_page.content


def test_the_verify_page_checks_an_uploaded_receipt(tsa):
    creator = UserFactory.create(username="maker_mia")
    pattern = _logged_pattern(creator)
    services.checkpoint_publish_and_stamp()
    bundle = _download(creator, pattern)
    page = Client()
    assert page.get("/provenance/verify/").status_code == 200
    good = page.post("/provenance/verify/", {"receipt": SimpleUploadedFile("r.json", json.dumps(bundle).encode())})
    assert good.status_code == 200
    assert b"<h2>Verified</h2>" in good.content
    assert b"maker_mia" in good.content
    _tamper_proof(bundle)
    bad = page.post("/provenance/verify/", {"receipt": SimpleUploadedFile("r.json", json.dumps(bundle).encode())})
    assert bad.status_code == 422
    assert b"Not verified: proof" in bad.content
    junk = page.post("/provenance/verify/", {"receipt": SimpleUploadedFile("r.json", b"\x00not json")})
    assert (junk.status_code, b"Not verified: format" in junk.content) == (422, True)
    assert page.post("/provenance/verify/", {}).status_code == 400


def test_verify_receipt_runs_without_a_database(tsa, tmp_path):
    """The command is offline: pointed at a database and a Redis that do not exist, it still verifies."""
    tsa_url, authority = tsa
    creator = UserFactory.create()
    pattern = _logged_pattern(creator, others=1)
    services.checkpoint_publish_and_stamp()
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(_download(creator, pattern)))
    roots = tmp_path / "roots.pem"
    roots.write_bytes(authority.roots_pem)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
        "DATABASE_URL": "postgres://nobody:nothing@127.0.0.1:1/nowhere",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    command = [sys.executable, "manage.py", "verify_receipt", str(path), "--public-key", keys.public_key_b64()]
    done = subprocess.run([*command, "--tsa-roots", str(roots)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"verified: pattern {pattern.pk} version 1")
    assert f"time-stamped by {tsa_url}" in done.stdout
    path.write_text(path.read_text().replace('"leaf_index": 1', '"leaf_index": 0'))
    failed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert "not verified: proof: the inclusion proof does not lead to the checkpoint's root hash" in failed.stderr
