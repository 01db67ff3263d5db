"""The Merkle tree of RFC 9162 (Certificate Transparency 2.0, section 2.1), which RFC 6962 defined first.

Pure functions over leaf hashes, no Django: the offline verifier (``manage.py verify_receipt``, the verify page)
uses the same code a third party would write from the RFC, and the tests check it against the Certificate
Transparency reference vectors and against a brute-force tree for every size 1..64.

- leaf hash ``SHA-256(0x00 || leaf)``, interior node ``SHA-256(0x01 || left || right)``;
- ``MTH(D[n])`` splits at ``k``, the largest power of two smaller than ``n`` (the RFC's shape for any size);
- inclusion proofs are the RFC's ``PATH(m, D[n])`` (section 2.1.3.1) and are verified with the algorithm of
  section 2.1.3.2; consistency proofs are ``PROOF(m, D[n])`` (2.1.4.1), verified as in 2.1.4.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof does not verify, or its request is out of range; the message says which."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (not leaf data)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) over leaf hashes: the audit path, nearest the leaf first."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ProofError(f"leaf index {index} is outside a tree of size {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root(leaves[:k])]


def consistency_proof(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(first, D[n]): that the tree of the first ``first`` leaves is a prefix of the tree of all of them."""
    n = len(leaves)
    if not 0 < first <= n:
        raise ProofError(f"first size {first} must be between 1 and {n}")
    return _subproof(first, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2: the root a proof leads to, or ProofError when the proof has the wrong shape."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if len(p) != HASH_SIZE:
            raise ProofError("a proof hash is not 32 bytes")
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes) -> None:
    """Raise ProofError unless ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree with that root."""
    if root_from_inclusion_proof(index, size, leaf, proof) != expected_root:
        raise ProofError("the inclusion proof does not lead to the checkpoint's root hash")


def verify_consistency(first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes) -> None:
    """RFC 9162 section 2.1.4.2: raise ProofError unless the tree of size ``first`` with ``first_root`` is a
    prefix of the tree of size ``second`` with ``second_root``."""
    if not 0 < first <= second:
        raise ProofError(f"sizes must satisfy 0 < first <= second (got {first}, {second})")
    if any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("a proof hash is not 32 bytes")
    if first == second:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError("equal sizes with different root hashes")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    # If first is an exact power of two, the first tree's root is the first node of the path.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the trees are deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the trees are deep")
    if fr != first_root:
        raise ProofError("the consistency proof does not lead to the first checkpoint's root hash")
    if sr != second_root:
        raise ProofError("the consistency proof does not lead to the second checkpoint's root hash")
