"""Checking an audit export offline: `python -m audit.verify FILE [--key VERIFIER_KEY ...]`.

Needs no database and no hub, only this package. An export (`hub audit export`) is JSON Lines:
a header, then one line per entry:

    {"format": "hub-audit-export/1", "origin": ..., "checkpoint": <signed note>,
     "keys": [<verifier keys>], "treeSize": N, "complete": true|false, "count": K, ...}
    {"seq": 0, "entry": "<canonical JSON>", "inclusion": ["<base64 hash>", ...]}

The checkpoint's signature is checked against the keys given with `--key` (the hub's verifier
key obtained independently, e.g. from `GET /v1/audit/verifier-key` or your witness state), or,
failing that, the keys in the file (which proves only that the file is self-consistent). Each
entry must be RFC 8785 canonical JSON naming its own sequence number; a complete export (every
entry of the tree) must hash to the checkpoint's root, and each entry of a partial export must
come with an inclusion proof to that root. Exit status 0 when everything verifies, 1 naming the
first failure, 2 when the file cannot be read, 3 when it verifies only with the keys inside it
(no `--key`, and no `--trust-file-keys`).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit import merkle
from audit.entry import canonical_json
from audit.note import NoteError, Verifier, verify_checkpoint

FORMAT = "hub-audit-export/1"


def header(
    origin: str,
    note: str,
    keys: Iterable[Verifier],
    size: int,
    complete: bool,
    count: int,
    **extra: Any,
) -> str:
    value = {
        "format": FORMAT,
        "origin": origin,
        "checkpoint": note,
        "keys": [str(k) for k in keys],
        "treeSize": size,
        "complete": complete,
        "count": count,
        **extra,
    }
    return json.dumps(value, sort_keys=True)


def line(seq: int, entry: str, inclusion: list[bytes] | None) -> str:
    value: dict[str, Any] = {"seq": seq, "entry": entry}
    if inclusion is not None:
        value["inclusion"] = [base64.b64encode(h).decode() for h in inclusion]
    return json.dumps(value, sort_keys=True)


@dataclass(frozen=True)
class Report:
    ok: bool
    detail: str
    bad_seq: int | None = None
    pinned: bool = False


class ExportError(ValueError):
    """The file is not an export at all (exit status 2)."""


def verify_lines(lines: Iterator[str], pinned: list[Verifier]) -> Report:
    try:
        head = _json(next(lines))
    except (StopIteration, ValueError):
        raise ExportError("the file does not start with an export header") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise ExportError(f"not a {FORMAT} file")
    try:
        keys = pinned or [Verifier.parse(k) for k in head["keys"]]
        note = head["checkpoint"]
        if not isinstance(note, str):
            raise NoteError("the checkpoint is not a signed note")
        checkpoint = verify_checkpoint(note, keys)
    except (NoteError, KeyError, TypeError, AttributeError) as error:
        return Report(False, f"the checkpoint does not verify: {error}", pinned=bool(pinned))
    if checkpoint.origin != head.get("origin") or checkpoint.size != head.get("treeSize"):
        return Report(False, "the header does not match its signed checkpoint", pinned=bool(pinned))
    complete = head.get("complete") is True
    count = 0
    edge = merkle.CompactRange()
    previous = -1
    for number, text in enumerate(lines, start=2):
        if not text.strip():
            continue
        try:
            item = _json(text)
            seq, entry = item["seq"], item["entry"]
            if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(entry, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return Report(False, f"line {number} is not an export entry", pinned=bool(pinned))
        problem = _check_entry(seq, entry, previous, checkpoint.size)
        if problem:
            return Report(False, problem, seq, bool(pinned))
        leaf = merkle.leaf_hash(entry.encode())
        if complete:
            if seq != edge.size:
                return Report(False, f"entry {edge.size} is missing", edge.size, bool(pinned))
            edge.extend([leaf])
        else:
            try:
                path = [base64.b64decode(h, validate=True) for h in item["inclusion"]]
            except (KeyError, TypeError, binascii.Error):
                return Report(False, f"entry {seq} has no inclusion proof", seq, bool(pinned))
            if not merkle.verify_inclusion(leaf, seq, checkpoint.size, path, checkpoint.root):
                return Report(
                    False,
                    f"entry {seq} is not in the tree of the checkpoint (its inclusion proof fails)",
                    seq,
                    bool(pinned),
                )
        previous = seq
        count += 1
    if count != head.get("count"):
        return Report(False, f"the file holds {count} entries, its header says {head.get('count')}")
    if complete:
        if edge.size != checkpoint.size:
            return Report(False, f"entry {edge.size} onwards is missing", edge.size, bool(pinned))
        if edge.root() != checkpoint.root:
            return Report(
                False, "the entries do not hash to the checkpoint's root", None, bool(pinned)
            )
    what = (
        "every entry of the tree"
        if complete
        else f"{count} entries, each with its inclusion proof (this shows they are in the log, "
        "not that the export left none out)"
    )
    return Report(
        True,
        f"{what} verified against the checkpoint of {checkpoint.origin} at size "
        f"{checkpoint.size} (root {base64.b64encode(checkpoint.root).decode()})",
        pinned=bool(pinned),
    )


def _json(text: str) -> Any:
    """Strict JSON: no NaN or Infinity (RFC 8785 has none), no number beyond a double."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    def number(text: str) -> float:
        value = float(text)
        if math.isinf(value):
            raise ValueError(f"{text} is beyond a double")
        return value

    return json.loads(text, parse_constant=refuse, parse_float=number)


def _check_entry(seq: int, entry: str, previous: int, size: int) -> str | None:
    if seq == previous:
        return f"entry {seq} is duplicated"
    if seq < previous:
        return f"entry {seq} is out of order (after {previous})"
    if seq >= size:
        return f"entry {seq} is beyond the checkpoint (size {size})"
    try:
        value = _json(entry)
        canonical = canonical_json(value).decode() if isinstance(value, dict) else None
    except (ValueError, TypeError, OverflowError):
        return f"entry {seq} is not JSON"
    if canonical is None:
        return f"entry {seq} is not a JSON object"
    if canonical != entry:
        return f"entry {seq} is not canonical JSON (RFC 8785)"
    if value.get("seq") != seq:
        return f"entry {seq} says it is entry {value.get('seq')} (moved)"
    return None


def verify_file(path: Path, pinned: list[Verifier]) -> Report:
    with path.open(encoding="utf-8") as handle:
        return verify_lines(iter(handle), pinned)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m audit.verify",
        description="Verify a hub audit export offline (no database, no hub needed).",
    )
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        help="a verifier key you trust (name+hex id+base64), e.g. from your witness; repeatable",
    )
    parser.add_argument(
        "--trust-file-keys",
        action="store_true",
        help="accept the keys inside the file (checks only that the file is self-consistent)",
    )
    args = parser.parse_args(argv)
    try:
        pinned = [Verifier.parse(k) for k in args.key]
        report = verify_file(args.file, pinned)
    except (OSError, UnicodeDecodeError, ExportError, NoteError, RecursionError) as error:
        print(f"cannot verify {args.file}: {error}", file=sys.stderr)
        return 2
    if not report.ok:
        print(f"FAILED: {report.detail}", file=sys.stderr)
        return 1
    if not report.pinned and not args.trust_file_keys:
        print(
            "NOT VERIFIED: the file is consistent, but only with the keys inside it; pass the "
            "hub's verifier key with --key to check that the hub, not whoever wrote the file, "
            "signed it (or --trust-file-keys to accept them)",
            file=sys.stderr,
        )
        return 3
    print(f"ok: {report.detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
