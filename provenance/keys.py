"""The log's Ed25519 signing key.

Production configures it (``TESSERA_PROVENANCE_SIGNING_KEY``: base64 of the 32-byte private key, or
``TESSERA_PROVENANCE_SIGNING_KEY_FILE``: a file holding that base64 or a PKCS#8 PEM); production settings refuse to
start without one. In development the first process that needs it generates one under ``var/provenance/`` (created
exclusively, mode 0600, never committed) and every later start reads it back, so checkpoints stay verifiable.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)


def _parse(material: bytes, source: str) -> Ed25519PrivateKey:
    material = material.strip()
    if material.startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(material, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured(f"{source} is not an Ed25519 private key")
        return key
    try:
        raw = base64.b64decode(material, validate=True)
    except binascii.Error:
        raise ImproperlyConfigured(f"{source} is neither base64 nor PEM") from None
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{source} must hold the 32-byte Ed25519 private key (base64)")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _generate(path: Path) -> Ed25519PrivateKey:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    encoded = base64.b64encode(key.private_bytes_raw()) + b"\n"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process generated it first: use theirs, so every process signs with one key.
        return _parse(path.read_bytes(), str(path))
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(encoded)
    logger.info("provenance: generated a development signing key at %s", path)
    return key


@functools.cache
def signing_key() -> Ed25519PrivateKey:
    if settings.TESSERA_PROVENANCE_SIGNING_KEY:
        return _parse(settings.TESSERA_PROVENANCE_SIGNING_KEY.encode(), "TESSERA_PROVENANCE_SIGNING_KEY")
    if settings.TESSERA_PROVENANCE_SIGNING_KEY_FILE:
        path = Path(settings.TESSERA_PROVENANCE_SIGNING_KEY_FILE)
        return _parse(path.read_bytes(), str(path))
    path = Path(settings.TESSERA_PROVENANCE_DEV_KEY_FILE)
    if path.exists():
        return _parse(path.read_bytes(), str(path))
    if not settings.TESSERA_PROVENANCE_GENERATE_KEY:
        raise ImproperlyConfigured("Set TESSERA_PROVENANCE_SIGNING_KEY or TESSERA_PROVENANCE_SIGNING_KEY_FILE")
    return _generate(path)


def public_key() -> bytes:
    """The raw 32-byte Ed25519 public key."""
    return signing_key().public_key().public_bytes_raw()


def public_key_b64() -> str:
    return base64.b64encode(public_key()).decode()


def key_name() -> str:
    """The key name is the log's origin, as c2sp.org/tlog-checkpoint recommends."""
    return str(settings.TESSERA_PROVENANCE_ORIGIN)


def public_key_if_configured() -> bytes | None:
    """The log's public key when this installation has one (configured, or the development key already
    generated), without generating one: the offline verifier pins to it when it exists."""
    configured = settings.TESSERA_PROVENANCE_SIGNING_KEY or settings.TESSERA_PROVENANCE_SIGNING_KEY_FILE
    if configured or Path(settings.TESSERA_PROVENANCE_DEV_KEY_FILE).exists():
        return public_key()
    return None
