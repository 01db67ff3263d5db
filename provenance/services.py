"""Writes to the authorship log: appending statements, publishing signed checkpoints, time-stamping them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from catalog import selectors as catalog_selectors
from marketplace.broker import infrastructure_errors
from provenance import keys, merkle, timestamping
from provenance.models import Checkpoint, CheckpointTimestamp, LogLeaf
from provenance.note import checkpoint_text, note_sign
from provenance.statement import statement_build

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock keys ("prov" + 1, + 2): one appender at a time, one checkpoint publisher at a time.
APPEND_LOCK = 0x70726F76_01
CHECKPOINT_LOCK = 0x70726F76_02


def _lock(key: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _next_index() -> int:
    last = LogLeaf.objects.aggregate(last=Max("index"))["last"]
    return 0 if last is None else last + 1


def leaf_append(*, pattern_id: int, version: int, at: datetime) -> LogLeaf | None:
    """Append the statement of version ``version`` of a pattern, once: a second call returns the existing leaf.

    Takes the log's append lock (held until the caller's transaction commits), so leaf indexes are assigned
    0, 1, 2 ... in commit order, without gaps or duplicates, however many workers append at once; a checkpoint
    therefore always sees a prefix of the log. Returns None when the pattern or version no longer exists.
    """
    with transaction.atomic():
        _lock(APPEND_LOCK)
        existing = LogLeaf.objects.filter(pattern_id=pattern_id, version=version).first()
        if existing is not None:
            return existing
        facts = catalog_selectors.pattern_version_originals(pattern_id=pattern_id, number=version)
        if facts is None:
            logger.warning("provenance: pattern %s version %s is gone; nothing to append", pattern_id, version)
            return None
        leaf_data = statement_build(
            pattern_id=pattern_id,
            version=version,
            creator_id=facts["creator_id"],
            creator_username=facts["creator_username"],
            files=facts["files"],
            at=at,
        )
        leaf = LogLeaf.objects.create(
            index=_next_index(),
            pattern_id=pattern_id,
            version=version,
            creator_id=facts["creator_id"],
            leaf_data=leaf_data,
            leaf_hash=merkle.leaf_hash(leaf_data.encode("utf-8")),
        )
        transaction.on_commit(_checkpoint_soon)
    logger.info("provenance: leaf %s for pattern %s version %s", leaf.index, pattern_id, version)
    return leaf


def _checkpoint_soon() -> None:
    from provenance.tasks import checkpoint_publish

    try:
        checkpoint_publish.apply_async()
    except infrastructure_errors() as exc:
        # The beat task publishes it within TESSERA_PROVENANCE_CHECKPOINT_SECONDS when the broker is back.
        logger.warning("provenance: could not ask for a checkpoint: %s", exc)


def leaf_hashes(*, size: int | None = None) -> list[bytes]:
    """Leaf hashes in index order (the first ``size`` of them)."""
    rows = LogLeaf.objects.order_by("index").values_list("leaf_hash", flat=True)
    if size is not None:
        rows = rows[:size]
    return [bytes(h) for h in rows]


def checkpoint_publish() -> Checkpoint | None:
    """Sign a checkpoint of the whole log if it grew since the latest one; return the new one, or None.

    Idempotent: under the checkpoint lock, a log that has not grown gets no new checkpoint. The leaves are read in
    one statement, which sees a prefix of the log (appends commit in index order).
    """
    with transaction.atomic():
        _lock(CHECKPOINT_LOCK)
        hashes = leaf_hashes()
        size = len(hashes)
        latest = Checkpoint.objects.order_by("-tree_size").only("tree_size").first()
        if size == 0 or (latest is not None and latest.tree_size >= size):
            return None
        root_hash = merkle.root(hashes)
        note = note_sign(
            checkpoint_text(keys.key_name(), size, root_hash), name=keys.key_name(), private_key=keys.signing_key()
        )
        checkpoint = Checkpoint.objects.create(
            tree_size=size, root_hash=root_hash, note=note, public_key=keys.public_key_b64()
        )
    logger.info("provenance: checkpoint of %s leaves", size)
    return checkpoint


def checkpoint_timestamp(*, checkpoint: Checkpoint) -> int:
    """Ask each configured time-stamp authority that has not stamped ``checkpoint`` yet for a token over its note.
    Network calls run outside any transaction; a failing authority is logged and asked again by the next run.
    Returns how many tokens were stored."""
    done = set(CheckpointTimestamp.objects.filter(checkpoint=checkpoint).values_list("tsa_url", flat=True))
    # At most one request per authority per TESSERA_PROVENANCE_TSA_MIN_INTERVAL_SECONDS, however fast checkpoints
    # follow each other in a burst of uploads: a later checkpoint includes every earlier leaf, and beat stamps it.
    recent = timezone.now() - timedelta(seconds=settings.TESSERA_PROVENANCE_TSA_MIN_INTERVAL_SECONDS)
    busy = set(CheckpointTimestamp.objects.filter(created_at__gt=recent).values_list("tsa_url", flat=True))
    stored = 0
    for authority in timestamping.authorities():
        if authority.url in done or authority.url in busy:
            continue
        try:
            stamp = timestamping.timestamp_request(authority=authority, message=checkpoint.note.encode("utf-8"))
        except timestamping.TimestampError as exc:
            logger.warning("provenance: %s did not stamp checkpoint %s: %s", authority.url, checkpoint.tree_size, exc)
            continue
        try:
            with transaction.atomic():
                CheckpointTimestamp.objects.create(
                    checkpoint=checkpoint, tsa_url=authority.url, response=stamp.response, gen_time=stamp.gen_time
                )
        except IntegrityError:
            continue  # another worker stored this authority's token first
        stored += 1
    return stored


def checkpoint_publish_and_stamp() -> int | None:
    """The beat/on-commit job: publish a checkpoint if the log grew, then time-stamp the latest checkpoint with
    every authority that has not stamped it. Returns the latest tree size."""
    checkpoint_publish()
    latest = Checkpoint.objects.order_by("-tree_size").first()
    if latest is None:
        return None
    checkpoint_timestamp(checkpoint=latest)
    return latest.tree_size
