"""RFC 6962 hashing and proofs against the published Certificate Transparency test vectors, and
for every index and pair of sizes up to a few hundred; altered proofs and data fail. C2SP signed
notes and checkpoints sign, verify, survive a key rotation and refuse what was altered."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import merkle
from audit.note import Checkpoint, NoteError, Signer, Verifier, verify_checkpoint

# RFC 6962 test vectors (certificate-transparency's reference tests).
DATA = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
]  # fmt: skip
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
INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CONSISTENCY = {
    (2, 8): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


def _tree(leaves: list[bytes]) -> merkle.MemoryNodes:
    tree = merkle.MemoryNodes()
    for leaf in leaves:  # one at a time: every append path
        tree.extend([leaf])
    return tree


def test_the_rfc_6962_vectors() -> None:
    leaves = [merkle.leaf_hash(d) for d in DATA]
    tree = _tree(leaves)
    assert merkle.root(tree, 0) == merkle.EMPTY_ROOT
    assert merkle.EMPTY_ROOT.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    for size, expected in enumerate(ROOTS, start=1):
        assert merkle.root(tree, size).hex() == expected
        assert merkle.root_of(leaves[:size]).hex() == expected
    for (index, size), proof in INCLUSION.items():
        assert [h.hex() for h in merkle.inclusion_proof(tree, index, size)] == proof
    for (first, second), proof in CONSISTENCY.items():
        assert [h.hex() for h in merkle.consistency_proof(tree, first, second)] == proof


N = 300
LEAVES = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(N)]
TREE = merkle.MemoryNodes()
TREE.extend(LEAVES[:100])  # appended in batches of different sizes
TREE.extend(LEAVES[100:101])
TREE.extend(LEAVES[101:])
ROOTS_N = [merkle.root(TREE, n) for n in range(N + 1)]


def test_every_inclusion_proof_verifies_up_to_300() -> None:
    for size in range(1, N + 1):
        assert ROOTS_N[size] == merkle.root_of(LEAVES[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(TREE, index, size)
            assert merkle.verify_inclusion(LEAVES[index], index, size, proof, ROOTS_N[size])


def test_every_consistency_proof_verifies_up_to_120() -> None:
    for second in range(0, 121):
        for first in range(0, second + 1):
            proof = merkle.consistency_proof(TREE, first, second)
            assert merkle.verify_consistency(
                first, second, ROOTS_N[first], ROOTS_N[second], proof
            ), (first, second)


@settings(max_examples=400)
@given(st.integers(1, N), st.data())
def test_an_altered_inclusion_proof_or_leaf_fails(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(TREE, index, size)
    root = ROOTS_N[size]
    other = LEAVES[(index + 1) % N]
    assert not merkle.verify_inclusion(other, index, size, proof, root) or other == LEAVES[index]
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[position] = bytes([bad[position][0] ^ 1]) + bad[position][1:]
        assert not merkle.verify_inclusion(LEAVES[index], index, size, bad, root)
        assert not merkle.verify_inclusion(LEAVES[index], index, size, proof[:-1], root)
    assert not merkle.verify_inclusion(LEAVES[index], index, size, [*proof, LEAVES[0]], root)
    if size > 1:
        assert (
            not merkle.verify_inclusion(LEAVES[index], (index + 1) % size, size, proof, root)
            or merkle.inclusion_proof(TREE, (index + 1) % size, size) == proof
        )


@settings(max_examples=400)
@given(st.integers(2, N), st.data())
def test_an_altered_consistency_proof_or_root_fails(second: int, data: st.DataObject) -> None:
    first = data.draw(st.integers(1, second - 1))
    proof = merkle.consistency_proof(TREE, first, second)
    old, new = ROOTS_N[first], ROOTS_N[second]
    assert merkle.verify_consistency(first, second, old, new, proof)
    position = data.draw(st.integers(0, len(proof) - 1))
    bad = list(proof)
    bad[position] = bytes([bad[position][0] ^ 1]) + bad[position][1:]
    assert not merkle.verify_consistency(first, second, old, new, bad)
    # A rewritten history: another root for the first size.
    assert not merkle.verify_consistency(first, second, ROOTS_N[first - 1], new, proof)
    assert not merkle.verify_consistency(first, second, old, ROOTS_N[second - 1], proof)


def test_proofs_outside_the_tree_are_refused() -> None:
    with pytest.raises(ValueError):
        merkle.inclusion_proof(TREE, 5, 5)
    with pytest.raises(ValueError):
        merkle.consistency_proof(TREE, 6, 5)
    assert not merkle.verify_inclusion(LEAVES[0], 1, 1, [], LEAVES[0])
    assert not merkle.verify_consistency(4, 4, ROOTS_N[4], ROOTS_N[5], [])
    assert merkle.verify_consistency(0, 8, merkle.EMPTY_ROOT, ROOTS_N[8], [])


def test_a_checkpoint_signs_verifies_and_survives_rotation() -> None:
    old = Signer("hub.example/audit", Ed25519PrivateKey.generate())
    new = Signer("hub.example/audit", Ed25519PrivateKey.generate())
    body = Checkpoint("hub.example/audit", 8, bytes.fromhex(ROOTS[7])).body()
    assert body == "hub.example/audit\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    note = old.sign(body)
    assert note.startswith(body + "\n\u2014 hub.example/audit ")
    keys = [Verifier.parse(str(new.verifier)), Verifier.parse(str(old.verifier))]
    assert verify_checkpoint(note, keys) == Checkpoint(
        "hub.example/audit", 8, bytes.fromhex(ROOTS[7])
    )
    with pytest.raises(NoteError, match="no known key"):
        verify_checkpoint(note, [new.verifier])  # the old key is needed for an old checkpoint
    with pytest.raises(NoteError):
        verify_checkpoint(note.replace("\n8\n", "\n9\n"), keys)
    with pytest.raises(NoteError):
        Verifier.parse(str(old.verifier).replace("hub.example", "hub.evil"))
