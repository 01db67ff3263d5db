"""Offline verification of an authorship receipt: every hash and signature recomputed, no database, no network.

Used by ``manage.py verify_receipt FILE`` and the public page ``/provenance/verify/``. The trust anchors are the
log's public key (pinned by the verifier, or taken from the receipt and reported as such) and, for time-stamps,
the authorities' roots (pinned, or those in the receipt).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from datetime import datetime
from typing import Any

from provenance import merkle
from provenance.note import NoteError, checkpoint_parse, note_split, note_verify
from provenance.statement import StatementError, canonical_json
from provenance.timestamping import TimestampError, timestamp_verify

RECEIPT_FORMAT = "tessera-authorship-receipt/v1"


class ReceiptInvalid(Exception):
    """The receipt fails; ``part`` names what failed: format, statement, leaf hash, proof, signature, timestamp."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(f"{part}: {message}")
        self.part = part
        self.message = message


@dataclasses.dataclass(frozen=True)
class VerifiedReceipt:
    statement: dict[str, Any]
    leaf_index: int
    tree_size: int
    origin: str
    public_key: str
    key_pinned: bool
    timestamps: list[tuple[str, datetime]]
    timestamps_pinned: bool


def _field(bundle: dict[str, Any], name: str, kind: type) -> Any:
    value = bundle.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ReceiptInvalid("format", f"“{name}” is missing or not a {kind.__name__}")
    return value


def _hex32(value: object, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ReceiptInvalid("format", f"{what} is not 32 bytes of hex")
    return raw


def receipt_load(data: bytes) -> dict[str, Any]:
    try:
        bundle = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ReceiptInvalid("format", "the file is not JSON") from None
    if not isinstance(bundle, dict):
        raise ReceiptInvalid("format", "the file is not a receipt object")
    return bundle


def receipt_verify(
    bundle: dict[str, Any],
    *,
    log_public_key: bytes | None = None,
    tsa_roots_pem: bytes | None = None,
    require_timestamp: bool = False,
) -> VerifiedReceipt:
    """Check a receipt; raise ReceiptInvalid naming the first part that fails.

    ``log_public_key``: the log's raw Ed25519 key as the verifier knows it; when given, a checkpoint signed by any
    other key fails. ``tsa_roots_pem``: roots the verifier trusts for time-stamps; when not given, each token is
    checked against the roots the receipt carries (reported: ``timestamps_pinned`` False).
    """
    if bundle.get("format") != RECEIPT_FORMAT:
        raise ReceiptInvalid("format", f"not a {RECEIPT_FORMAT} receipt")
    statement_text = _field(bundle, "statement", str)
    leaf_index = _field(bundle, "leaf_index", int)
    tree_size = _field(bundle, "tree_size", int)
    proof_hex = _field(bundle, "inclusion_proof", list)
    checkpoint = _field(bundle, "checkpoint", dict)
    stamps = bundle.get("timestamps", [])
    if not isinstance(stamps, list):
        raise ReceiptInvalid("format", "“timestamps” is not a list")
    proof = [_hex32(node, "an inclusion proof entry") for node in proof_hex]

    # 1. The statement is canonical JSON, and hashes to the leaf hash (SHA-256(0x00 || statement)).
    try:
        statement = json.loads(statement_text)
        canonical = canonical_json(statement)
    except (ValueError, StatementError) as exc:
        raise ReceiptInvalid("statement", f"not canonical JSON ({exc})") from None
    if canonical != statement_text.encode("utf-8") or not isinstance(statement, dict):
        raise ReceiptInvalid("statement", "not in canonical form (sorted keys, no spaces, UTF-8)")
    computed_leaf = merkle.leaf_hash(canonical)
    if "leaf_hash" in bundle and _hex32(bundle["leaf_hash"], "the leaf hash") != computed_leaf:
        raise ReceiptInvalid("leaf hash", "SHA-256(0x00 || statement) differs from the receipt's leaf hash")

    # 2. The checkpoint is signed by the log's key.
    note = checkpoint.get("note")
    key_b64 = checkpoint.get("public_key")
    if not isinstance(note, str) or not isinstance(key_b64, str):
        raise ReceiptInvalid("format", "the checkpoint needs “note” and “public_key”")
    try:
        public_key = base64.b64decode(key_b64, validate=True)
    except binascii.Error:
        raise ReceiptInvalid("signature", "the public key is not base64") from None
    if log_public_key is not None and public_key != log_public_key:
        raise ReceiptInvalid("signature", "the checkpoint is signed by a key other than the log's")
    try:
        text, _ = note_split(note)
        origin = checkpoint_parse(text).origin
        body = note_verify(note, name=origin, public_key=public_key)
    except NoteError as exc:
        raise ReceiptInvalid("signature", str(exc)) from None
    if body.tree_size != tree_size:
        raise ReceiptInvalid("proof", f"the receipt says {tree_size} leaves, its checkpoint {body.tree_size}")

    # 3. The audit path leads from the leaf to the signed root.
    try:
        merkle.verify_inclusion(leaf_index, tree_size, computed_leaf, proof, body.root_hash)
    except merkle.ProofError as exc:
        raise ReceiptInvalid("proof", str(exc)) from None

    # 4. Each RFC 3161 token is over this very note and chains to a trusted root.
    verified_stamps: list[tuple[str, datetime]] = []
    for stamp in stamps:
        if not isinstance(stamp, dict) or not isinstance(stamp.get("response"), str):
            raise ReceiptInvalid("format", "a time-stamp needs its base64 “response”")
        try:
            response = base64.b64decode(stamp["response"], validate=True)
        except binascii.Error:
            raise ReceiptInvalid("timestamp", "a time-stamp response is not base64") from None
        roots = tsa_roots_pem if tsa_roots_pem is not None else str(stamp.get("roots", "")).encode()
        try:
            gen_time = timestamp_verify(response=response, message=note.encode("utf-8"), roots_pem=roots)
        except TimestampError as exc:
            raise ReceiptInvalid("timestamp", f"{stamp.get('tsa_url', 'an authority')}: {exc}") from None
        verified_stamps.append((str(stamp.get("tsa_url", "")), gen_time))
    if require_timestamp and not verified_stamps:
        raise ReceiptInvalid("timestamp", "the receipt carries no time-stamp")

    return VerifiedReceipt(
        statement=statement,
        leaf_index=leaf_index,
        tree_size=tree_size,
        origin=origin,
        public_key=key_b64,
        key_pinned=log_public_key is not None,
        timestamps=verified_stamps,
        timestamps_pinned=tsa_roots_pem is not None,
    )
