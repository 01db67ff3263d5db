"""Signed notes (C2SP signed-note, tlog-checkpoint) and canonical statements, without the database."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provenance import note
from provenance.statement import StatementError, canonical_json, statement_build

# golang.org/x/mod/sumdb/note's reference example: its private key, verifier key and signed note.
GO_PRIVATE = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = (
    GO_TEXT
    + "\n\u2014 PeterNeumann "
    + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_signing_reproduces_the_go_reference_note_byte_for_byte():
    key = Ed25519PrivateKey.from_private_bytes(GO_PRIVATE)
    public = key.public_key().public_bytes_raw()
    assert note.verifier_key("PeterNeumann", public) == GO_VERIFIER_KEY
    assert note.key_id("PeterNeumann", public).hex() == "c74f20a3"
    assert note.note_sign(GO_TEXT, name="PeterNeumann", private_key=key) == GO_NOTE
    text, signatures = note.note_split(GO_NOTE)
    assert text == GO_TEXT
    assert [name for name, _ in signatures] == ["PeterNeumann"]


def test_a_checkpoint_note_has_the_c2sp_shape_and_verifies():
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    root_hash = hashlib.sha256(b"root").digest()
    signed = note.note_sign(
        note.checkpoint_text("example.com/log", 7, root_hash), name="example.com/log", private_key=key
    )
    lines = signed.split("\n")
    assert lines[:4] == ["example.com/log", "7", base64.b64encode(root_hash).decode(), ""]
    dash, name, blob = lines[4].split(" ")
    assert (dash, name) == ("\u2014", "example.com/log")
    raw = base64.b64decode(blob)
    assert len(raw) == 4 + 64
    assert raw[:4] == hashlib.sha256(b"example.com/log\n\x01" + public).digest()[:4]
    assert lines[5:] == [""]
    body = note.note_verify(signed, name="example.com/log", public_key=public)
    assert (body.origin, body.tree_size, body.root_hash) == ("example.com/log", 7, root_hash)


def test_a_changed_size_root_or_signature_or_another_key_fails():
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    signed = note.note_sign(note.checkpoint_text("log", 7, b"\x00" * 32), name="log", private_key=key)
    with pytest.raises(note.NoteError, match="does not verify"):
        note.note_verify(signed.replace("\n7\n", "\n8\n"), name="log", public_key=public)
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    with pytest.raises(note.NoteError, match="no signature by the key"):
        note.note_verify(signed, name="log", public_key=other)
    blob = signed.rstrip("\n").rsplit(" ", 1)[1]
    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 1
    forged = signed.replace(blob, base64.b64encode(bytes(raw)).decode())
    with pytest.raises(note.NoteError, match="does not verify"):
        note.note_verify(forged, name="log", public_key=public)
    with pytest.raises(note.NoteError):
        note.note_verify(signed.replace("\n\n", "\n"), name="log", public_key=public)


def test_statements_are_canonical_json():
    at = datetime(2026, 11, 23, 16, 20, 5, 123456, tzinfo=UTC)
    statement = statement_build(
        pattern_id=12,
        version=2,
        creator_id=3,
        creator_username='mia \u00e9"\n',
        files=[{"name": "b.stl", "sha256": "bb", "size": 5}, {"name": "a.stl", "sha256": "aa", "size": 4}],
        at=at,
    )
    assert statement == (
        '{"creator":{"id":3,"username":"mia \u00e9\\"\\n"},"files":[{"name":"a.stl","sha256":"aa","size":4},'
        '{"name":"b.stl","sha256":"bb","size":5}],"pattern":12,"time":"2026-11-23T16:20:05Z",'
        '"type":"tessera.authorship/v1","version":2}'
    )
    assert canonical_json(json.loads(statement)).decode() == statement
    with pytest.raises(StatementError):
        canonical_json({"ratio": 0.5})
    with pytest.raises(StatementError):
        canonical_json({"big": 2**53})
