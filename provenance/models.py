"""The authorship log: leaves, signed checkpoints and their RFC 3161 time-stamps. All three tables are
append-only (a PostgreSQL trigger refuses UPDATE and DELETE), like the event store."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class LogLeaf(models.Model):
    """One statement of the log: ``leaf_data`` is the exact canonical JSON that was hashed into leaf ``index``.

    ``pattern_id`` is a plain number, not a foreign key: the log outlives any pattern or account, and nothing may
    cascade into it. One leaf per (pattern, version); indexes run 0, 1, 2 ... without gaps (appended under a lock).
    """

    index = models.PositiveBigIntegerField(unique=True)
    pattern_id = models.BigIntegerField()
    version = models.PositiveIntegerField()
    creator_id = models.BigIntegerField()
    leaf_data = models.TextField()
    leaf_hash = models.BinaryField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["pattern_id", "version"], name="provenance_one_leaf_per_version"),
        ]
        indexes = [models.Index(fields=["pattern_id", "version"], name="provenance_leaf_pattern")]

    def __str__(self) -> str:
        return f"leaf {self.index}: pattern {self.pattern_id} v{self.version}"


class Checkpoint(models.Model):
    """A signed tree head: the C2SP signed note over ``<origin>\\n<tree_size>\\n<base64 root>\\n``."""

    tree_size = models.PositiveBigIntegerField(unique=True)
    root_hash = models.BinaryField(max_length=32)
    note = models.TextField()
    public_key = models.CharField(max_length=64, help_text="Base64 of the raw Ed25519 key that signed the note.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tree_size"]
        get_latest_by = "tree_size"

    def __str__(self) -> str:
        return f"checkpoint of {self.tree_size} leaves"


class CheckpointTimestamp(models.Model):
    """An RFC 3161 time-stamp token over the checkpoint's signed note, from one configured authority: the
    DER ``TimeStampResp`` as the authority sent it, so anyone can check it without us."""

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="timestamps")
    tsa_url = models.URLField(max_length=500)
    response = models.BinaryField()
    gen_time = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["checkpoint_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["checkpoint", "tsa_url"], name="provenance_one_stamp_per_tsa"),
        ]

    def __str__(self) -> str:
        return f"{self.tsa_url} at {self.gen_time:%Y-%m-%d %H:%M:%S}"
