"""The buyer-specific payload every forensic watermark carries, and its error correction.

The message is 48 bits: the entitlement id (32 bits) and a 16-bit keyed tag over it, so that a decoded id
that was not issued by us is recognised as noise. Reed-Solomon (4 parity bytes) turns the 6 message bytes
into an 80-bit codeword, which corrects two damaged bytes or four lost ones. Carriers hand back one soft
value per codeword bit (positive: bit 1); a bit no carrier survived for is 0, an erasure.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from dataclasses import dataclass

import numpy as np
from reedsolo import ReedSolomonError, RSCodec

MESSAGE_BYTES = 6
PARITY_BYTES = 4
CODEWORD_BITS = (MESSAGE_BYTES + PARITY_BYTES) * 8
_codec = RSCodec(PARITY_BYTES)


def _tag(key: bytes, entitlement_id: int) -> bytes:
    return hmac.new(key, b"tag:" + entitlement_id.to_bytes(4, "big"), hashlib.sha256).digest()[:2]


def codeword_bytes(*, key: bytes, entitlement_id: int) -> bytes:
    if not 0 < entitlement_id < 2**32:
        raise ValueError("The entitlement id does not fit the 32-bit payload.")
    message = entitlement_id.to_bytes(4, "big") + _tag(key, entitlement_id)
    return bytes(_codec.encode(message))


def codeword_signs(*, key: bytes, entitlement_id: int) -> np.ndarray:
    """The codeword as ±1 values (bit 1 → +1), most significant bit first."""
    bits = np.unpackbits(np.frombuffer(codeword_bytes(key=key, entitlement_id=entitlement_id), dtype=np.uint8))
    return bits.astype(np.float64) * 2 - 1


def keyed_rng(key: bytes, label: str) -> np.random.Generator:
    """A pseudo-random generator only the holder of ``key`` can reproduce."""
    seed = hmac.new(key, b"rng:" + label.encode(), hashlib.sha256).digest()
    return np.random.default_rng(np.frombuffer(seed, dtype=np.uint64))


@dataclass(frozen=True)
class Decoded:
    """What a set of soft bits says about who the file was delivered to."""

    entitlement_id: int | None
    confidence: float  # 1 - the chance that an unmarked file produces this agreement
    agreeing_bits: int
    observed_bits: int
    method: str  # "reed-solomon", "candidates" or "none"


def _confidence(agreeing: int, observed: int, extra_log2: float = 0.0) -> float:
    """1 − P(an unmarked file agrees on at least ``agreeing`` of ``observed`` bits) · 2^-extra."""
    if observed == 0:
        return 0.0
    tail = sum(math.comb(observed, k) for k in range(agreeing, observed + 1)) / 2.0**observed
    return max(0.0, 1.0 - tail * 2.0 ** (-extra_log2))


def decode(*, key: bytes, soft: np.ndarray, candidates: list[int] | None = None) -> Decoded:
    """Read an entitlement id from soft bits: Reed-Solomon first, then the best of the known candidates.

    Candidates (the entitlements of the pattern the file belongs to) let a badly damaged mark still
    point at one buyer: every candidate's codeword is compared with the observed bits, and the winner's
    confidence is corrected for having tried them all.
    """
    soft = np.asarray(soft, dtype=np.float64)
    observed = soft != 0
    observed_bits = int(observed.sum())
    if observed_bits == 0:
        return Decoded(None, 0.0, 0, 0, "none")
    hard = (soft > 0).astype(np.uint8)
    # Bytes with lost bits are erasures (the code fills up to four); beyond four, the bytes with the
    # most lost bits are erased and the rest guessed, which the code may still correct.
    lost_per_byte = np.bincount(np.flatnonzero(~observed) // 8, minlength=MESSAGE_BYTES + PARITY_BYTES)
    worst = [int(i) for i in np.argsort(-lost_per_byte, kind="stable") if lost_per_byte[i] > 0]
    erase_pos = sorted(worst[:PARITY_BYTES])
    if observed_bits >= CODEWORD_BITS // 2:
        try:
            message, _full, _errata = _codec.decode(bytearray(np.packbits(hard).tobytes()), erase_pos=erase_pos)
        except ReedSolomonError:
            message = None
        if message is not None:
            entitlement_id = int.from_bytes(bytes(message[:4]), "big")
            if entitlement_id and bytes(message[4:6]) == _tag(key, entitlement_id):
                expected = codeword_signs(key=key, entitlement_id=entitlement_id)
                agreeing = int(((expected > 0) == (soft > 0))[observed].sum())
                # The 16-bit tag matching by chance is another 2^-16 on top of the bit agreement.
                return Decoded(
                    entitlement_id,
                    _confidence(agreeing, observed_bits, 16.0),
                    agreeing,
                    observed_bits,
                    "reed-solomon",
                )
    if not candidates:
        return Decoded(None, 0.0, 0, observed_bits, "none")
    best_id, best_agreeing = None, -1
    for entitlement_id in candidates:
        expected = codeword_signs(key=key, entitlement_id=entitlement_id)
        agreeing = int(((expected > 0) == (soft > 0))[observed].sum())
        if agreeing > best_agreeing:
            best_id, best_agreeing = entitlement_id, agreeing
    confidence = _confidence(best_agreeing, observed_bits, -math.log2(len(candidates)))
    return Decoded(best_id, confidence, best_agreeing, observed_bits, "candidates")


def token_encode(*, key: bytes, entitlement_id: int) -> str:
    """The codeword as text for metadata and invisible PDF text: ``TSR1-`` and 16 base32 characters."""
    import base64

    return "TSR1-" + base64.b32encode(codeword_bytes(key=key, entitlement_id=entitlement_id)).decode()


TOKEN = re.compile(r"TSR1-[A-Z2-7]{16}")


def token_find(text: str) -> np.ndarray | None:
    """Soft bits of the first metadata token in ``text``, or None when there is none."""
    match = TOKEN.search(text)
    return token_soft(match.group(0)) if match else None


def token_soft(token: str) -> np.ndarray | None:
    """Soft bits (±1) from a metadata token, or None when it is not one of ours."""
    import base64
    import binascii

    if not token.startswith("TSR1-"):
        return None
    try:
        raw = base64.b32decode(token[5:21])
    except (binascii.Error, ValueError):
        return None
    if len(raw) != MESSAGE_BYTES + PARITY_BYTES:
        return None
    return np.unpackbits(np.frombuffer(raw, dtype=np.uint8)).astype(np.float64) * 2 - 1
