"""RFC 3161 time-stamps on checkpoints, from the authorities in ``TESSERA_PROVENANCE_TSAS`` (``rfc3161-client``).

A time-stamp authority signs ``SHA-256(signed note)`` with its own clock and key: once stamped, a checkpoint (and
every statement it includes) provably existed at that time, so the operator cannot backdate a statement or
quietly rewrite the log and re-sign it later. ``timestamp_verify`` is pure (no Django, no database): the offline
verifier uses it with the roots carried in the receipt or pinned by the person verifying.
"""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

MAX_RESPONSE_BYTES = 256 * 1024


class TimestampError(Exception):
    """The authority could not be reached, refused, or answered with a token that does not verify."""


@dataclasses.dataclass(frozen=True)
class Authority:
    url: str
    roots_pem: bytes


@dataclasses.dataclass(frozen=True)
class Stamp:
    response: bytes
    gen_time: datetime


def authorities() -> list[Authority]:
    from django.conf import settings

    configured = []
    for entry in settings.TESSERA_PROVENANCE_TSAS:
        roots = entry.get("roots", "")
        pem = Path(roots).read_bytes() if roots and not roots.startswith("-----BEGIN") else roots.encode()
        configured.append(Authority(url=entry["url"], roots_pem=pem))
    return configured


def _certificates(pem: bytes) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise TimestampError("the authority's roots are not PEM certificates") from None


def timestamp_verify(*, response: bytes, message: bytes, roots_pem: bytes, nonce: int | None = None) -> datetime:
    """Check a DER ``TimeStampResp`` over ``message`` against the given roots (chain, signature, the critical
    time-stamping EKU, the message imprint, the nonce when given); return the authority's time (UTC)."""
    try:
        parsed = decode_timestamp_response(response)
    except ValueError as exc:
        raise TimestampError(f"not an RFC 3161 response: {exc}") from None
    certificates = _certificates(roots_pem)
    if not certificates:
        raise TimestampError("no root certificate to check the time-stamp against")
    builder = VerifierBuilder()
    for certificate in certificates:
        builder = builder.add_root_certificate(certificate)
    if nonce is not None:
        builder = builder.nonce(nonce)
    try:
        builder.build().verify_message(parsed, message)
    except VerificationError as exc:
        raise TimestampError(f"the time-stamp does not verify: {exc}") from None
    return parsed.tst_info.gen_time.astimezone(UTC)


def timestamp_request(*, authority: Authority, message: bytes, timeout: float | None = None) -> Stamp:
    """POST an RFC 3161 request for ``SHA-256(message)`` (with a nonce, asking for the certificate) to the
    authority, and return its response once it verifies against the authority's configured roots."""
    from django.conf import settings

    request = (
        TimestampRequestBuilder()
        .data(message)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    if not authority.url.startswith(("https://", "http://")):
        raise TimestampError("a time-stamp authority's URL is http(s)")
    http_request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        authority.url,
        data=request.as_bytes(),
        headers={"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(  # noqa: S310 - the scheme is checked above
            http_request, timeout=timeout or settings.TESSERA_PROVENANCE_TSA_TIMEOUT_SECONDS
        ) as answer:
            body = answer.read(MAX_RESPONSE_BYTES + 1)
    except (urllib.error.URLError, OSError) as exc:
        raise TimestampError(f"could not reach {authority.url}: {exc}") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise TimestampError("the authority's answer is too large")
    gen_time = timestamp_verify(response=body, message=message, roots_pem=authority.roots_pem, nonce=request.nonce)
    return Stamp(response=body, gen_time=gen_time)
