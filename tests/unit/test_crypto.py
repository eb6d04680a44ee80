from __future__ import annotations

import os

import pytest

from hub.security.crypto import DecryptionError, KeyRing, open_sealed, seal


def test_seal_round_trip_and_binding() -> None:
    key = os.urandom(32)
    sealed = seal(key, b"payload", b"message-1")
    assert b"payload" not in sealed
    assert open_sealed(key, sealed, b"message-1") == b"payload"
    with pytest.raises(DecryptionError):
        open_sealed(key, sealed, b"message-2")  # moved to another row
    with pytest.raises(DecryptionError):
        open_sealed(os.urandom(32), sealed, b"message-1")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(DecryptionError):
        open_sealed(key, tampered, b"message-1")
    with pytest.raises(DecryptionError):
        open_sealed(key, b"\x02" + sealed[1:], b"message-1")


def test_data_keys_are_wrapped_per_subject() -> None:
    ring = KeyRing(os.urandom(32))
    wrapped = ring.new_wrapped_data_key("subject-a")
    key = ring.unwrap_data_key("subject-a", wrapped)
    assert len(key) == 32 and key not in wrapped
    with pytest.raises(DecryptionError):
        ring.unwrap_data_key("subject-b", wrapped)
    with pytest.raises(DecryptionError):
        KeyRing(os.urandom(32)).unwrap_data_key("subject-a", wrapped)


def test_pseudonyms_are_keyed() -> None:
    master = os.urandom(32)
    assert KeyRing(master).pseudonym("x") == KeyRing(master).pseudonym("x")
    assert KeyRing(master).pseudonym("x") != KeyRing(os.urandom(32)).pseudonym("x")
    assert len(KeyRing(master).pseudonym("x")) == 64


def test_master_key_length() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        KeyRing(b"short")
