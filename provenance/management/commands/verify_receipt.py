"""``manage.py verify_receipt FILE``: check an authorship receipt offline (no database, no network).

Exit 0 and "verified: ..." when every hash, the inclusion proof, the checkpoint's Ed25519 signature and each
RFC 3161 time-stamp check out; exit 1 and "not verified: <part>: <reason>" naming what failed (format, statement,
leaf hash, proof, signature, timestamp).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from provenance import keys
from provenance.receipt import ReceiptInvalid, receipt_load, receipt_verify


class Command(BaseCommand):
    help = "Verify an authorship receipt offline: leaf hash, inclusion proof, checkpoint signature, time-stamps."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The receipt (JSON) downloaded from the pattern's status page.")
        parser.add_argument(
            "--public-key",
            help="The log's Ed25519 public key (base64) to pin; default: this installation's key when it has one.",
        )
        parser.add_argument(
            "--tsa-roots", help="PEM file of time-stamp authority roots to trust instead of those in the receipt."
        )
        parser.add_argument("--require-timestamp", action="store_true", help="Fail a receipt without a time-stamp.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"not verified: cannot read {path}: {exc.strerror}") from None
        pinned: bytes | None
        if options["public_key"]:
            try:
                pinned = base64.b64decode(options["public_key"], validate=True)
            except binascii.Error:
                raise CommandError("--public-key is not base64") from None
        else:
            pinned = keys.public_key_if_configured()
        roots = Path(options["tsa_roots"]).read_bytes() if options["tsa_roots"] else None
        try:
            verified = receipt_verify(
                receipt_load(data),
                log_public_key=pinned,
                tsa_roots_pem=roots,
                require_timestamp=options["require_timestamp"],
            )
        except ReceiptInvalid as exc:
            raise CommandError(f"not verified: {exc.part}: {exc.message}") from None
        statement = verified.statement
        creator = statement.get("creator") or {}
        self.stdout.write(
            f"verified: pattern {statement.get('pattern')} version {statement.get('version')} "
            f"by {creator.get('username')} (id {creator.get('id')}), {len(statement.get('files') or [])} file(s), "
            f"stated at {statement.get('time')}"
        )
        self.stdout.write(
            f"  leaf {verified.leaf_index} of {verified.tree_size} in {verified.origin}, checkpoint signature valid "
            + ("(the log's key)" if verified.key_pinned else "(key taken from the receipt: not pinned)")
        )
        for url, at in verified.timestamps:
            roots_note = "" if verified.timestamps_pinned else " (roots from the receipt)"
            self.stdout.write(f"  time-stamped by {url} at {at.isoformat()}{roots_note}")
        if not verified.timestamps:
            self.stdout.write("  no RFC 3161 time-stamp in this receipt")
