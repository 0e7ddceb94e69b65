"""RFC 6962 Merkle tree hashing (as restated in RFC 9162 §2.1), with SHA-256.

    leaf hash  = SHA-256(0x00 ‖ entry)
    node hash  = SHA-256(0x01 ‖ left ‖ right)
    MTH({})    = SHA-256()                       the empty tree
    MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n]))  k = the largest power of two below n

Everything below works on *leaf hashes*, not on entries, so a verifier can rebuild a tree from
stored leaf hashes alone. The work is done a level at a time with list comprehensions over
``hashlib`` so that a million leaves cost about a million hash calls and little else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256


def leaf_hash(entry: bytes) -> bytes:
    return _sha256(b"\x00" + entry).digest()


def leaf_hashes(entries: Iterable[bytes]) -> list[bytes]:
    return [_sha256(b"\x00" + e).digest() for e in entries]


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly below ``n`` (n ≥ 2): RFC 6962's k, not the midpoint."""
    if n < 2:
        raise ValueError("a tree of fewer than two leaves has no split")
    return 1 << ((n - 1).bit_length() - 1)


def _level_up(nodes: list[bytes]) -> list[bytes]:
    """Hash pairs; an odd last node is carried up unchanged (it is a right-edge subtree)."""
    up = [_sha256(b"\x01" + a + b).digest() for a, b in zip(nodes[::2], nodes[1::2], strict=False)]
    if len(nodes) % 2:
        up.append(nodes[-1])
    return up


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH of the given leaf hashes.

    Pairing left to right and carrying an odd node up gives the same tree as RFC 6962's split
    at the largest power of two: every left subtree is then perfect, as the RFC requires.
    """
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        level = _level_up(level)
    return level[0]


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1, leaf first, root-most sibling last."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf index {index} is outside a tree of size {len(leaves)}")
    path: list[bytes] = []
    lo, hi = 0, len(leaves)
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            path.append(root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root(leaves[lo : lo + k]))
            lo += k
    path.reverse()
    return path


def consistency_path(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2: the old tree of ``old_size`` leaves is a prefix."""
    if not 0 < old_size <= len(leaves):
        raise ValueError(f"no consistency proof from size {old_size} to {len(leaves)}")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [root(leaves)]
    k = split_point(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], whole), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root a path leads to (RFC 9162 §2.1.3.2), or None if the path cannot be right."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], expected_root: bytes
) -> bool:
    return root_from_inclusion(index, size, leaf, path) == expected_root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does the tree of ``new_size`` extend the one of ``old_size``?"""
    if old_size > new_size:
        return False
    if old_size == new_size:
        return not path and old_root == new_root
    if old_size == 0:
        return not path
    if not path:
        return False
    nodes = list(path)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself on the path
        nodes.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class CompactRange:
    """The roots of the perfect subtrees that make up a tree of ``size`` leaves, largest first.

    This is all one needs to keep to append more leaves and to compute the root at any moment
    (RFC 6962's MTH folds them right to left). It is at most 64 hashes, whatever the size.
    """

    __slots__ = ("_peaks", "size")

    def __init__(self, size: int = 0, peaks: Sequence[bytes] = ()) -> None:
        if len(peaks) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} peaks")
        self.size = size
        self._peaks = list(peaks)

    @property
    def peaks(self) -> list[bytes]:
        return list(self._peaks)

    def to_bytes(self) -> bytes:
        return b"".join(self._peaks)

    @classmethod
    def from_bytes(cls, size: int, blob: bytes) -> CompactRange:
        peaks = [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]
        return cls(size, peaks)

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Append leaf hashes, a perfect block at a time (each block hashed level by level)."""
        i, n = 0, len(leaves)
        while i < n:
            room = self.size & -self.size or 1 << 62  # the block must stay aligned
            block = min(room, 1 << ((n - i).bit_length() - 1))
            self._push(root(leaves[i : i + block]), block)
            i += block

    def _push(self, peak: bytes, width: int) -> None:
        self.size += width
        self._peaks.append(peak)
        # Merge equal neighbours: the new size's set bits say how many peaks remain.
        while len(self._peaks) > self.size.bit_count():
            right = self._peaks.pop()
            self._peaks[-1] = node_hash(self._peaks[-1], right)

    def root(self) -> bytes:
        if not self._peaks:
            return EMPTY_ROOT
        r = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            r = node_hash(peak, r)
        return r

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self._peaks)
