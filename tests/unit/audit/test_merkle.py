"""RFC 6962 hashing against the published vectors and an independent, literal reference."""

from __future__ import annotations

import hashlib

import pytest

from custos.domain import merkle

# The Certificate Transparency reference tree, as published in transparency-dev/merkle
# (proof/verify_test.go; the same values are in google/certificate-transparency).
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# (leaf index, tree size, path): the vectors number leaves from 1; these are 0-based.
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
HASHES = [merkle.leaf_hash(d) for d in LEAVES]


def _unhex(path: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in path]


def _reference_mth(data: list[bytes]) -> bytes:
    """RFC 6962 §2.1 read literally, on entries (not leaf hashes), recursing at k."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + _reference_mth(data[:k]) + _reference_mth(data[k:])).digest()


def test_the_empty_tree_hashes_to_sha256_of_nothing() -> None:
    assert merkle.root([]).hex() == EMPTY
    assert merkle.CompactRange().root().hex() == EMPTY


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_the_reference_tree_match_the_published_ones(size: int) -> None:
    assert merkle.root(HASHES[:size]).hex() == ROOTS[size - 1]
    grown = merkle.CompactRange()
    grown.extend(HASHES[:size])
    assert grown.root().hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_paths_match_the_published_ones_and_verify(
    index: int, size: int, path: list[str]
) -> None:
    expected = _unhex(path)
    assert merkle.inclusion_path(HASHES[:size], index) == expected
    root = bytes.fromhex(ROOTS[size - 1])
    assert merkle.verify_inclusion(index, size, HASHES[index], expected, root)


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_published_ones_and_verify(
    old: int, new: int, path: list[str]
) -> None:
    expected = _unhex(path)
    assert merkle.consistency_path(HASHES[:new], old) == expected
    old_root, new_root = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
    assert merkle.verify_consistency(old, new, old_root, new_root, expected)


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_a_corrupted_inclusion_proof_is_refused(index: int, size: int, path: list[str]) -> None:
    proof, root, leaf = _unhex(path), bytes.fromhex(ROOTS[size - 1]), HASHES[index]
    some = bytes.fromhex("abacaba0" * 8)
    probes = [
        (index - 1, size, leaf, proof, root),
        (index + 1, size, leaf, proof, root),
        (index ^ 2, size, leaf, proof, root),
        (index, size * 2, leaf, proof, root),
        (index, size // 2, leaf, proof, root),
        (index, size, b"WrongLeaf", proof, root),
        (index, size, leaf, proof, bytes.fromhex(EMPTY)),
        (index, size, leaf, [*proof, b""], root),
        (index, size, leaf, [*proof, root], root),
        (index, size, leaf, [root, *proof], root),
        (index, size, leaf, proof[:-1], root),
        (index, size, leaf, [proof[0], some, *proof[1:]], root),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((index, size, leaf, flipped, root))
    accepted = [p for p in probes if merkle.verify_inclusion(*p)]
    assert accepted == []


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_a_corrupted_consistency_proof_is_refused(old: int, new: int, path: list[str]) -> None:
    proof = _unhex(path)
    r1, r2 = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
    probes = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, b"WrongRoot", r2, proof),
        (old, new, r1, b"WrongRoot", proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes.append((old, new, r1, r2, flipped))
    accepted = [p[:2] for p in probes if merkle.verify_consistency(*p)]
    assert accepted == []


def test_every_tree_up_to_70_leaves_agrees_with_the_literal_reference() -> None:
    data = [bytes([i, i * 7 % 256]) for i in range(70)]
    hashes = merkle.leaf_hashes(data)
    grown = merkle.CompactRange()
    for n in range(1, len(data) + 1):
        grown.extend(hashes[n - 1 : n])
        want = _reference_mth(data[:n])
        assert merkle.root(hashes[:n]) == want
        assert grown.root() == want
        for i in range(n):
            path = merkle.inclusion_path(hashes[:n], i)
            assert merkle.verify_inclusion(i, n, hashes[i], path, want)
            assert not merkle.verify_inclusion(i, n, hashes[(i + 1) % n], path, want) or n == 1
        for m in range(1, n + 1):
            proof = merkle.consistency_path(hashes[:n], m)
            assert merkle.verify_consistency(m, n, _reference_mth(data[:m]), want, proof)


def test_a_compact_range_extended_in_uneven_blocks_survives_a_round_trip_through_bytes() -> None:
    hashes = merkle.leaf_hashes(bytes([i % 256, i // 256]) for i in range(1000))
    grown, done = merkle.CompactRange(), 0
    for block in (1, 2, 5, 64, 3, 300, 1, 624):
        grown.extend(hashes[done : done + block])
        done += block
        assert grown.size == done
        assert len(grown.peaks) == done.bit_count()
        stored = merkle.CompactRange.from_bytes(done, grown.to_bytes())
        assert stored.root() == grown.root() == merkle.root(hashes[:done])


def test_a_frontier_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="peaks"):
        merkle.CompactRange.from_bytes(3, bytes(32))


def test_the_split_is_the_largest_power_of_two_below_n_not_the_midpoint() -> None:
    assert [merkle.split_point(n) for n in (2, 3, 4, 5, 6, 7, 8, 9, 1000)] == [
        1,
        2,
        2,
        4,
        4,
        4,
        4,
        8,
        512,
    ]
