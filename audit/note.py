"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and the tlog-checkpoint
body (https://c2sp.org/tlog-checkpoint) they carry.

A checkpoint is the text `<origin>\\n<tree size>\\n<base64 root hash>\\n`, then a blank line,
then one line per signature: `— <key name> <base64(key id || Ed25519 signature)>`. The key id
is the first four bytes of SHA-256(name || "\\n" || 0x01 || public key); the verifier key, what
anyone needs to check a signature, is `<name>+<key id hex>+<base64(0x01 || public key)>`.
A rotated key keeps its name and gets a new id, so a checkpoint signed by an older key still
verifies against that key's published verifier key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = b"\x01"
DASH = "\u2014"  # the em dash that starts every signature line


class NoteError(ValueError):
    """A note, checkpoint or verifier key that is malformed or does not verify."""


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    name: str
    id: bytes
    public: bytes

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)  # base64 may itself hold a "+"
        if len(parts) != 3 or not _valid_name(parts[0]):
            raise NoteError("a verifier key is <name>+<key id hex>+<base64 key>")
        name, id_hex, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
            ident = bytes.fromhex(id_hex)
        except (binascii.Error, ValueError):
            raise NoteError("the verifier key is not hex and base64") from None
        if len(ident) != 4 or raw[:1] != ED25519 or len(raw) != 33:
            raise NoteError("only Ed25519 verifier keys are accepted")
        if key_id(name, raw[1:]) != ident:
            raise NoteError("the verifier key's id does not match its name and key")
        return cls(name, ident, raw[1:])

    def __str__(self) -> str:
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(ED25519 + self.public).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    private: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        public = self.private.public_key().public_bytes_raw()
        return Verifier(self.name, key_id(self.name, public), public)

    def sign(self, body: str) -> str:
        """The signed note: the body (ending in a newline), a blank line, the signature."""
        if not body.endswith("\n"):
            raise NoteError("a note's text ends with a newline")
        signature = self.private.sign(body.encode())
        blob = base64.b64encode(self.verifier.id + signature).decode()
        return f"{body}\n{DASH} {self.name} {blob}\n"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def parse_body(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise NoteError("a checkpoint is origin, tree size and root hash, one per line")
        origin, size_text, root_text, *rest = lines[:-1]
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise NoteError("the tree size is not a decimal number")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error:
            raise NoteError("the root hash is not base64") from None
        if len(root) != 32:
            raise NoteError("the root hash is not 32 bytes")
        return cls(origin, int(size_text), root, tuple(rest))


def open_note(note: str, verifiers: list[Verifier]) -> tuple[str, list[Verifier]]:
    """Split a signed note into its text and the known keys whose signatures on it verify.
    Raises NoteError if it is malformed or no known key signed it."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("a signed note is text, a blank line and signature lines")
    text += "\n"
    by_key = {(v.name, v.id): v for v in verifiers}
    good: list[Verifier] = []
    for line in signatures[:-1].split("\n"):
        prefix = f"{DASH} "
        if not line.startswith(prefix):
            raise NoteError("a signature line starts with an em dash and a space")
        name, _, blob = line[len(prefix) :].rpartition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise NoteError("a signature is not base64") from None
        if len(raw) < 5:
            raise NoteError("a signature is too short")
        verifier = by_key.get((name, raw[:4]))
        if verifier is not None and verifier.verify(text.encode(), raw[4:]):
            good.append(verifier)
    if not good:
        raise NoteError("no known key signed this note")
    return text, good


def verify_checkpoint(note: str, verifiers: list[Verifier]) -> Checkpoint:
    text, _ = open_note(note, verifiers)
    return Checkpoint.parse_body(text)
