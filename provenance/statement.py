"""Authorship statements: what one leaf of the log says, as canonical JSON.

Canonicalisation: ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` encoded as UTF-8.
For the values a statement holds (objects with ASCII keys, strings, integers below 2**53, lists) this is
byte-for-byte the JSON Canonicalization Scheme of RFC 8785 (JCS): keys sorted, no whitespace, strings with only
the mandatory escapes (lower-case ``\\u00xx`` for control characters), non-ASCII characters as UTF-8. Floats, which
JCS writes differently from Python, never appear; ``canonical_json`` refuses them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

STATEMENT_TYPE = "tessera.authorship/v1"


class StatementError(ValueError):
    """A value that cannot be written canonically (a float, a huge integer, a non-string key)."""


def _check(value: Any) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) >= 2**53:
            raise StatementError("integers must be below 2**53 (I-JSON, RFC 7493)")
        return
    if isinstance(value, list):
        for item in value:
            _check(item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise StatementError("object keys must be strings")
            _check(item)
        return
    raise StatementError(f"{type(value).__name__} has no canonical form here")


def canonical_json(value: Any) -> bytes:
    _check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def statement_time(at: datetime) -> str:
    """RFC 3339 in UTC to the second: ``2026-11-23T16:20:05Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def statement_build(
    *,
    pattern_id: int,
    version: int,
    creator_id: int,
    creator_username: str,
    files: list[dict[str, Any]],
    at: datetime,
) -> str:
    """The statement string that is hashed into the log. ``files``: ``{"name", "sha256", "size"}`` of each
    original as uploaded (before any watermark), listed by sha256 then name so the order never depends on ids."""
    ordered = sorted(
        ({"name": str(f["name"]), "sha256": str(f["sha256"]), "size": int(f["size"])} for f in files),
        key=lambda f: (f["sha256"], f["name"]),
    )
    return canonical_json(
        {
            "type": STATEMENT_TYPE,
            "pattern": pattern_id,
            "version": version,
            "creator": {"id": creator_id, "username": creator_username},
            "files": ordered,
            "time": statement_time(at),
        }
    ).decode("utf-8")
