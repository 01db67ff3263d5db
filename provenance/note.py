"""Checkpoints as C2SP signed notes (c2sp.org/tlog-checkpoint, c2sp.org/signed-note), Ed25519 only.

A checkpoint's text is ``<origin>\\n<tree size>\\n<base64 root hash>\\n``; the note is the text, a blank line and
one signature line per signer: ``— <key name> <base64(key id || signature)>`` where the key id is the first four
bytes of ``SHA-256(key name || 0x0A || 0x01 || 32-byte public key)`` (0x01: the Ed25519 signature type) and the
signature is Ed25519 over the text. Pure functions, no Django: the offline verifier uses them.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = b"\x01"
EM_DASH = "\u2014"


class NoteError(ValueError):
    """The note is malformed, or no signature by the expected key verifies; the message says which."""


@dataclasses.dataclass(frozen=True)
class CheckpointBody:
    origin: str
    tree_size: int
    root_hash: bytes


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519 + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The signed-note verifier key string ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
    return f"{name}+{key_id(name, public_key).hex()}+{base64.b64encode(ED25519 + public_key).decode()}"


def checkpoint_text(origin: str, tree_size: int, root_hash: bytes) -> str:
    if not origin or "\n" in origin:
        raise NoteError("the origin must be one non-empty line")
    return f"{origin}\n{tree_size}\n{base64.b64encode(root_hash).decode()}\n"


def note_sign(text: str, *, name: str, private_key: Ed25519PrivateKey) -> str:
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text ends with a newline and has no blank line")
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError("a key name is non-empty, without spaces or '+'")
    public_key = private_key.public_key().public_bytes_raw()
    signature = private_key.sign(text.encode("utf-8"))
    blob = base64.b64encode(key_id(name, public_key) + signature).decode()
    return f"{text}\n{EM_DASH} {name} {blob}\n"


def note_split(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """(text, [(key name, key id || signature)]) of a signed note."""
    if not note.endswith("\n"):
        raise NoteError("the note does not end with a newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError("the note has no blank line before its signatures")
    text, signature_block = note[: cut + 1], note[cut + 2 :]
    signatures = []
    for line in signature_block.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH:
            raise NoteError(f"malformed signature line: {line[:80]!r}")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise NoteError("a signature is not valid base64") from None
        if len(blob) < 5:
            raise NoteError("a signature is too short")
        signatures.append((parts[1], blob))
    if not signatures:
        raise NoteError("the note has no signature")
    return text, signatures


def checkpoint_parse(text: str) -> CheckpointBody:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has an origin, a tree size and a root hash, one per line")
    origin, size_line, root_line = lines[0], lines[1], lines[2]
    if not origin:
        raise NoteError("the checkpoint's origin is empty")
    if not size_line.isdigit() or (size_line != "0" and size_line.startswith("0")):
        raise NoteError("the checkpoint's tree size is not a decimal number")
    try:
        root_hash = base64.b64decode(root_line, validate=True)
    except binascii.Error:
        raise NoteError("the checkpoint's root hash is not valid base64") from None
    if len(root_hash) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    return CheckpointBody(origin=origin, tree_size=int(size_line), root_hash=root_hash)


def note_verify(note: str, *, name: str, public_key: bytes) -> CheckpointBody:
    """Check the note's signature by ``name``'s Ed25519 ``public_key`` and return the checkpoint it signs."""
    text, signatures = note_split(note)
    expected_id = key_id(name, public_key)
    candidates = [blob for signer, blob in signatures if signer == name and blob[:4] == expected_id]
    if not candidates:
        raise NoteError(f"the checkpoint carries no signature by the key {name} {expected_id.hex()}")
    try:
        verifying_key = Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        raise NoteError("the public key is not a 32-byte Ed25519 key") from None
    for blob in candidates:
        try:
            verifying_key.verify(blob[4:], text.encode("utf-8"))
        except InvalidSignature:
            continue
        return checkpoint_parse(text)
    raise NoteError("the checkpoint's Ed25519 signature does not verify")
