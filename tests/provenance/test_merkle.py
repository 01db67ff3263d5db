"""The RFC 9162 tree against the Certificate Transparency reference vectors and a brute-force tree.

The vectors are the ones of the CT reference implementation's merkle_tree_test (also in transparency-dev/merkle):
the eight leaves below, the root of every prefix, and a few inclusion and consistency proofs.
"""

from __future__ import annotations

import hashlib

import pytest

from provenance import merkle

LEAVES_DATA = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]
LEAVES = [merkle.leaf_hash(leaf) for leaf in LEAVES_DATA]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, audit path)
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
# (first size, second size, proof)
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip


def test_hashes_are_domain_separated_sha256():
    assert merkle.leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert merkle.node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_reference(size):
    assert merkle.root(LEAVES[:size]).hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION)
def test_inclusion_proofs_match_the_reference(index, size, expected):
    proof = merkle.inclusion_proof(index, LEAVES[:size])
    assert [node.hex() for node in proof] == expected
    merkle.verify_inclusion(index, size, LEAVES[index], proof, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("first", "second", "expected"), CONSISTENCY)
def test_consistency_proofs_match_the_reference(first, second, expected):
    proof = merkle.consistency_proof(first, LEAVES[:second])
    assert [node.hex() for node in proof] == expected
    merkle.verify_consistency(first, second, proof, bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second]))


# --- Brute force: a tree built level by level, the way the RFC draws it, for every size 1..64. ---


def _brute_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Levels of the RFC tree built bottom-up: an odd node at the end of a level is promoted unchanged."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        above = [merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        levels.append(above)
    return levels


def _brute_root(leaves: list[bytes]) -> bytes:
    return _brute_levels(leaves)[-1][0] if leaves else merkle.EMPTY_ROOT


def _brute_path(index: int, leaves: list[bytes]) -> list[bytes]:
    path = []
    for level in _brute_levels(leaves)[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        index //= 2
    return path


LEAVES_64 = [merkle.leaf_hash(f"leaf {i}".encode()) for i in range(64)]


def _flip(node: bytes) -> bytes:
    return bytes([node[0] ^ 1]) + node[1:]


def test_inclusion_for_every_leaf_of_every_size_up_to_64():
    for size in range(1, 65):
        leaves = LEAVES_64[:size]
        expected_root = _brute_root(leaves)
        assert merkle.root(leaves) == expected_root
        for index in range(size):
            proof = merkle.inclusion_proof(index, leaves)
            assert proof == _brute_path(index, leaves), (index, size)
            merkle.verify_inclusion(index, size, leaves[index], proof, expected_root)
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(index, size, _flip(leaves[index]), proof, expected_root)
            if proof:
                with pytest.raises(merkle.ProofError):
                    merkle.verify_inclusion(index, size, leaves[index], [_flip(proof[0]), *proof[1:]], expected_root)
                with pytest.raises(merkle.ProofError):
                    merkle.verify_inclusion(index, size, leaves[index], proof[:-1], expected_root)
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(index, size, leaves[index], [*proof, expected_root], expected_root)
            if size > 1:
                with pytest.raises(merkle.ProofError):
                    merkle.verify_inclusion((index + 1) % size, size, leaves[index], proof, expected_root)


def test_consistency_for_every_pair_of_sizes_up_to_64():
    roots = {size: _brute_root(LEAVES_64[:size]) for size in range(1, 65)}
    for second in range(1, 65):
        leaves = LEAVES_64[:second]
        for first in range(1, second + 1):
            proof = merkle.consistency_proof(first, leaves)
            merkle.verify_consistency(first, second, proof, roots[first], roots[second])
            if first < second:
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(first, second, proof, _flip(roots[first]), roots[second])
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(first, second, proof, roots[first], _flip(roots[second]))
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(first, second, [_flip(proof[0]), *proof[1:]], roots[first], roots[second])
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(first, second, proof[:-1], roots[first], roots[second])


def test_a_rewritten_leaf_breaks_consistency_with_the_old_checkpoint():
    old_root = merkle.root(LEAVES_64[:10])
    rewritten = [*LEAVES_64[:3], merkle.leaf_hash(b"backdated"), *LEAVES_64[4:20]]
    proof = merkle.consistency_proof(10, rewritten)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(10, 20, proof, old_root, merkle.root(rewritten))


def test_out_of_range_requests_are_refused():
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_proof(3, LEAVES[:3])
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(0, LEAVES[:3])
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(4, LEAVES[:3])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(1, 2, [], LEAVES[0], merkle.root(LEAVES[:2]))
