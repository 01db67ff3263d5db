"""Reads of the authorship log: a pattern's leaf with its proof, checkpoints, consistency proofs, receipts."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.db.models import Min

from catalog import selectors as catalog_selectors
from catalog.permissions import VIEW_PATTERNS, staff_has_perm
from provenance import keys, merkle, timestamping
from provenance.models import Checkpoint, CheckpointTimestamp, LogLeaf
from provenance.note import verifier_key
from provenance.receipt import RECEIPT_FORMAT
from provenance.services import leaf_hashes


def checkpoint_latest() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-tree_size").first()


def leaf_for_pattern(*, pattern_id: int, version: int = 1) -> LogLeaf | None:
    return LogLeaf.objects.filter(pattern_id=pattern_id, version=version).first()


def inclusion_proof(*, leaf: LogLeaf, checkpoint: Checkpoint) -> list[bytes]:
    """The RFC 9162 audit path of ``leaf`` to ``checkpoint``'s root (the leaf must be inside it)."""
    return merkle.inclusion_proof(leaf.index, leaf_hashes(size=checkpoint.tree_size))


def consistency_proof(*, first: int, second: int) -> list[bytes]:
    """RFC 9162 consistency proof between the trees of ``first`` and ``second`` leaves (0 < first <= second <=
    the latest checkpoint's size; ProofError otherwise, so nothing beyond a signed checkpoint is revealed)."""
    latest = checkpoint_latest()
    published = latest.tree_size if latest else 0
    if not 0 < first <= second <= published:
        raise merkle.ProofError(f"sizes must satisfy 0 < first <= second <= {published} (the latest checkpoint)")
    return merkle.consistency_proof(first, leaf_hashes(size=second))


def checkpoint_payload(checkpoint: Checkpoint) -> dict[str, str]:
    return {"note": checkpoint.note, "public_key": checkpoint.public_key}


def provenance_payload(*, leaf: LogLeaf, checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "status": "included",
        "version": leaf.version,
        "leaf_index": leaf.index,
        "leaf_data": leaf.leaf_data,
        "tree_size": checkpoint.tree_size,
        "inclusion_proof": [node.hex() for node in inclusion_proof(leaf=leaf, checkpoint=checkpoint)],
        "checkpoint": checkpoint_payload(checkpoint),
    }


def receipt_checkpoint(*, leaf: LogLeaf) -> Checkpoint | None:
    """The checkpoint a receipt proves against: the earliest time-stamped one that includes the leaf (the best
    evidence of when the statement existed), else the latest one. None while no checkpoint includes it."""
    stamped = (
        Checkpoint.objects.filter(tree_size__gt=leaf.index, timestamps__isnull=False).order_by("tree_size").first()
    )
    if stamped is not None:
        return stamped
    latest = checkpoint_latest()
    return latest if latest is not None and latest.tree_size > leaf.index else None


def receipt_build(*, leaf: LogLeaf, checkpoint: Checkpoint) -> dict[str, Any]:
    """Everything needed to check the statement offline: the statement, its leaf hash and audit path, the signed
    checkpoint and its key, and each RFC 3161 token with the roots of the authority that issued it."""
    roots = {authority.url: authority.roots_pem.decode() for authority in timestamping.authorities()}
    return {
        "format": RECEIPT_FORMAT,
        "statement": leaf.leaf_data,
        "leaf_hash": bytes(leaf.leaf_hash).hex(),
        "leaf_index": leaf.index,
        "tree_size": checkpoint.tree_size,
        "inclusion_proof": [node.hex() for node in inclusion_proof(leaf=leaf, checkpoint=checkpoint)],
        "checkpoint": {
            **checkpoint_payload(checkpoint),
            "verifier_key": verifier_key(keys.key_name(), base64.b64decode(checkpoint.public_key)),
        },
        "timestamps": [
            {
                "tsa_url": stamp.tsa_url,
                "gen_time": stamp.gen_time.isoformat(),
                "response": base64.b64encode(bytes(stamp.response)).decode(),
                "roots": roots.get(stamp.tsa_url, ""),
            }
            for stamp in checkpoint.timestamps.order_by("pk")
        ],
    }


def pattern_access(*, user: Any, pattern_id: int) -> str:
    """Who may read a pattern's authorship proof, with the history API's rule: "ok" for its creator and staff
    who may view patterns; "missing" for a pattern the caller may not see at all (another creator's unpublished
    one is not revealed); "forbidden" for someone else's published pattern."""
    pattern = catalog_selectors.pattern_visible_to(user=user).filter(pk=pattern_id).values("creator_id").first()
    if pattern is None:
        return "missing"
    if pattern["creator_id"] == getattr(user, "pk", None) or staff_has_perm(user, *VIEW_PATTERNS):
        return "ok"
    return "forbidden"


def authorship_entries(*, pattern_id: int, versions: list[int]) -> dict[int, dict[str, Any]]:
    """What the log holds for these versions of a pattern, by version: the leaf's index, the time the statement
    states, the first checkpoint that includes it and the earliest RFC 3161 time of a time-stamped checkpoint that
    does (None while none). For evidence pages (takedowns); a receipt with proofs is ``receipt_build``. One query
    for the leaves and two per leaf (a pattern has a few versions), however long the log."""
    entries: dict[int, dict[str, Any]] = {}
    for leaf in LogLeaf.objects.filter(pattern_id=pattern_id, version__in=versions):
        first = (
            Checkpoint.objects.filter(tree_size__gt=leaf.index)
            .order_by("tree_size")
            .values("tree_size", "created_at")
            .first()
        )
        stamped = CheckpointTimestamp.objects.filter(checkpoint__tree_size__gt=leaf.index).aggregate(
            earliest=Min("gen_time")
        )["earliest"]
        entries[leaf.version] = {
            "leaf_index": leaf.index,
            "statement_time": json.loads(leaf.leaf_data).get("time"),
            "checkpoint_tree_size": first["tree_size"] if first else None,
            "checkpoint_signed_at": first["created_at"] if first else None,
            "timestamped_at": stamped,
        }
    return entries
