"""RFC 6962 (and RFC 9162 section 2.1) Merkle tree hashing, proofs and their verification.

Leaf hash `SHA-256(0x00 || entry)`, node hash `SHA-256(0x01 || left || right)`, the empty tree's
root `SHA-256("")`. The tree is stored as its perfect subtrees: node `(level, index)` is the hash
of leaves `[index * 2**level, (index + 1) * 2**level)`. Any subtree a proof or a root needs is a
handful of those (its binary decomposition), so appending, roots and proofs read O(log n) nodes
and never the whole log. Storage is behind `NodeReader`; nothing here knows about databases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Key = tuple[int, int]  # (level, index)


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class NodeReader(Protocol):
    def nodes(self, keys: Iterable[Key]) -> Mapping[Key, bytes]:
        """The stored hashes of these perfect subtrees (all of them must exist)."""
        ...


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def decompose(start: int, end: int) -> list[Key]:
    """The perfect subtrees that make up leaves [start, end), left to right. For the ranges a
    tree hash or proof needs (`start` aligned to a power of two at least end - start), they
    shrink from left to right, so the range's hash is their right fold."""
    keys = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while start + (1 << level) > end:
            level -= 1
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from its decomposition's hashes (the right fold RFC 6962's MTH is)."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def range_hash(reader: NodeReader, start: int, end: int) -> bytes:
    keys = decompose(start, end)
    found = reader.nodes(keys)
    return fold([found[k] for k in keys])


def root(reader: NodeReader, size: int) -> bytes:
    """The root hash of the tree of the first `size` leaves."""
    return range_hash(reader, 0, size)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """The root over leaf hashes held in memory (the reference definition, for checking)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


# -- appending ------------------------------------------------------------------------------------


def append(
    reader: NodeReader, size: int, leaves: Sequence[bytes]
) -> tuple[dict[Key, bytes], bytes]:
    """Append leaf hashes to a tree of `size` leaves: the new nodes to store (the leaves and
    every perfect subtree they complete) and the new root. Reads only the tree's right edge."""
    frontier = decompose(0, size)
    known: dict[Key, bytes] = dict(reader.nodes(frontier)) if frontier else {}
    new: dict[Key, bytes] = {}
    for offset, leaf in enumerate(leaves):
        index, level, value = size + offset, 0, leaf
        new[(0, index)] = known[(0, index)] = value
        while index & 1:
            value = node_hash(known[(level, index - 1)], value)
            index >>= 1
            level += 1
            new[(level, index)] = known[(level, index)] = value
    end = size + len(leaves)
    return new, fold([known[k] for k in decompose(0, end)])


# -- proofs (RFC 9162 section 2.1.3.1 and 2.1.4.1) -------------------------------------------------


def _path(index: int, start: int, end: int) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()  # the proof lists the sibling nearest the leaf first
    return ranges


def _subproof(first: int, start: int, end: int) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    complete = True
    while True:
        if first == end:
            if not complete:
                ranges.append((start, end))
            break
        k = _split(end - start)
        if first <= start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            complete = False
    ranges.reverse()
    return ranges


def _hashes(reader: NodeReader, ranges: list[tuple[int, int]]) -> list[bytes]:
    """The hash of each range, from one read of every node they need."""
    wanted = [decompose(a, b) for a, b in ranges]
    found = reader.nodes({k for keys in wanted for k in keys})
    return [fold([found[k] for k in keys]) for keys in wanted]


def inclusion_proof(reader: NodeReader, index: int, size: int) -> list[bytes]:
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    return _hashes(reader, _path(index, 0, size))


def consistency_proof(reader: NodeReader, first: int, second: int) -> list[bytes]:
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from {first} to {second}")
    if first == 0 or first == second:
        return []
    return _hashes(reader, _subproof(first, 0, second))


# -- verification (RFC 9162 section 2.1.3.2 and 2.1.4.2) --------------------------------------------


def _valid(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    if not (0 <= index < size) or not _valid(leaf, root_hash, *proof):
        return False
    fn, sn, result = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            result = node_hash(p, result)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and result == root_hash


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    if not (0 <= first <= second) or not _valid(first_root, second_root, *proof):
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first tree is a node of the second
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
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
    return sn == 0 and fr == first_root and sr == second_root


class CompactRange:
    """Only a tree's right edge (its O(log n) perfect subtrees): enough to append and to give
    the root at the current size. A streaming verifier holds this, not the whole tree."""

    def __init__(self) -> None:
        self.edge: dict[Key, bytes] = {}
        self.size = 0

    def nodes(self, keys: Iterable[Key]) -> Mapping[Key, bytes]:
        return {k: self.edge[k] for k in keys}

    def extend(self, leaves: Sequence[bytes]) -> dict[Key, bytes]:
        """Append leaf hashes; return every node they complete (the leaves included)."""
        new, _ = append(self, self.size, leaves)
        self.size += len(leaves)
        self.edge.update(new)
        self.edge = {k: self.edge[k] for k in decompose(0, self.size)}
        return new

    def root(self) -> bytes:
        return fold([self.edge[k] for k in decompose(0, self.size)])


class MemoryNodes:
    """Every node of a tree held in memory (tests' and small proofs' store)."""

    def __init__(self) -> None:
        self.store: dict[Key, bytes] = {}
        self.size = 0

    def nodes(self, keys: Iterable[Key]) -> Mapping[Key, bytes]:
        return {k: self.store[k] for k in keys}

    def extend(self, leaves: Sequence[bytes]) -> bytes:
        new, head = append(self, self.size, leaves)
        self.store.update(new)
        self.size += len(leaves)
        return head
