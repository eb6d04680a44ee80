"""A witness: what each agency runs to hold the hub to account (`hub audit witness URL --state FILE`).

Each run fetches the hub's newest signed checkpoint, checks its signature with the keys the
witness trusts, and checks that it extends the checkpoint stored from the previous run: the same
origin, a tree at least as large, the same root at the same size, and otherwise a consistency
proof (RFC 9162 section 2.1.4) from the stored size to the new one. Only then is the new
checkpoint stored. Anything else means the hub's history was rewritten (or the witness was shown
a fork) and the run fails loudly, leaving the stored state as it was and writing both signed
checkpoints and the proof beside the state file as evidence (`FILE.evidence-<time>.json`, never
overwritten).

Keys: the first run trusts the keys the hub publishes at `/v1/audit/verifier-key` unless keys
are given with `--key`, and stores them. After that only stored or `--key` keys are trusted: a
checkpoint signed by a new key (after the hub rotates) fails until the agency adds the new key
with `--key`, having checked it through a channel other than the hub's own answer (`UntrustedKey`,
a different failure from a rewritten history).

HTTP is behind `Fetch` so the checks are tested without a network; nothing here needs the hub.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from audit import merkle
from audit.note import Checkpoint, NoteError, Verifier, verify_checkpoint


class Fetch(Protocol):
    def __call__(self, path: str) -> str:
        """GET the hub's `path` (with query); the body as text. Raises FetchError."""
        ...


class FetchError(RuntimeError):
    """The hub could not be asked (unreachable, or an error answer): no verdict either way."""


class HistoryRewritten(RuntimeError):
    """The hub showed a checkpoint that does not extend the one this witness stored."""


class UntrustedKey(RuntimeError):
    """The checkpoint is signed only by keys this witness has not been given (a key rotation
    not yet taken up, or a forgery): no verdict on the history until the key is checked."""


@dataclass
class State:
    origin: str
    keys: list[str]
    size: int
    root: str  # base64
    checkpoint: str  # the signed note, as the hub served it
    checked_at: str
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier (size, root, time)


@dataclass(frozen=True)
class Outcome:
    checkpoint: Checkpoint
    previous_size: int | None
    trusted_new_keys: list[str]

    def describe(self) -> str:
        root = base64.b64encode(self.checkpoint.root).decode()
        if self.previous_size is None:
            seen = "first checkpoint stored"
        elif self.previous_size == self.checkpoint.size:
            seen = "unchanged since the last run"
        else:
            seen = f"consistent with the stored checkpoint of size {self.previous_size}"
        return f"{self.checkpoint.origin} at size {self.checkpoint.size} (root {root}): {seen}"


def http_fetch(base_url: str, timeout: float = 30.0) -> Fetch:
    base = base_url.rstrip("/")
    if urllib.parse.urlsplit(base).scheme not in {"http", "https"}:
        raise FetchError(f"{base_url} is not an http(s) URL")

    def fetch(path: str) -> str:
        try:
            with urllib.request.urlopen(base + path, timeout=timeout) as answer:  # noqa: S310 (scheme checked above)
                return str(answer.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raise FetchError(f"GET {path} answered {error.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise FetchError(f"GET {path} failed: {error}") from None

    return fetch


def load_state(path: Path) -> State | None:
    if not path.exists():
        return None
    try:
        return State(**json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as error:
        raise ValueError(f"{path} is not a witness state file ({error})") from None


def save_state(path: Path, state: State) -> None:
    """Write atomically: a crash leaves the old state or the new one, never half of either."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    os.replace(tmp, path)


def witness(fetch: Fetch, state_path: Path, pinned: list[Verifier]) -> Outcome:
    state = load_state(state_path)
    keys = list(pinned)
    new_keys: list[str] = []
    if state is not None:
        keys += [Verifier.parse(k) for k in state.keys]
    if not keys:
        # Trust on first use: the keys the hub publishes now are stored and pinned from here on.
        keys = [Verifier.parse(k) for k in fetch("/v1/audit/verifier-key").split()]
        new_keys = [str(k) for k in keys]
    note = fetch("/v1/audit/checkpoint")
    try:
        checkpoint = verify_checkpoint(note, keys)
    except NoteError as error:
        raise UntrustedKey(
            f"the hub's checkpoint does not verify with the keys this witness trusts ({error}); "
            "if the hub announced a key rotation, check the new key independently and pass it "
            "with --key"
        ) from None
    previous = None
    if state is not None:
        previous = state.size
        _check_extends(fetch, state, checkpoint, note, state_path)
    now = datetime.now(UTC).isoformat()
    history = state.history if state else []
    if state is not None and state.size != checkpoint.size:
        history = [*history, {"size": state.size, "root": state.root, "at": state.checked_at}]
    save_state(
        state_path,
        State(
            origin=checkpoint.origin,
            keys=sorted({str(k) for k in keys}),
            size=checkpoint.size,
            root=base64.b64encode(checkpoint.root).decode(),
            checkpoint=note,
            checked_at=now,
            history=history[-1000:],
        ),
    )
    return Outcome(checkpoint, previous, new_keys)


def _check_extends(
    fetch: Fetch, state: State, checkpoint: Checkpoint, note: str, state_path: Path
) -> None:
    old_root = base64.b64decode(state.root)
    proof: list[str] = []
    problem = None
    if checkpoint.origin != state.origin:
        problem = f"the checkpoint's origin is {checkpoint.origin!r}, not {state.origin!r}"
    elif checkpoint.size < state.size:
        problem = (
            f"the tree shrank from {state.size} to {checkpoint.size} entries (history rolled back)"
        )
    elif checkpoint.size == state.size:
        if checkpoint.root != old_root:
            problem = f"two different roots were signed for the same size {state.size} (a fork)"
    elif state.size > 0:
        text = fetch(f"/v1/audit/proofs/consistency?first={state.size}&second={checkpoint.size}")
        try:
            proof = list(json.loads(text)["consistency"])
            path = [base64.b64decode(h, validate=True) for h in proof]
        except (ValueError, KeyError, TypeError):
            raise FetchError("the hub's consistency proof is not JSON with base64 hashes") from None
        if not merkle.verify_consistency(
            state.size, checkpoint.size, old_root, checkpoint.root, path
        ):
            problem = (
                f"the checkpoint of size {checkpoint.size} is not an extension of the stored one "
                f"of size {state.size} (its consistency proof fails): entries before "
                f"{state.size} were changed"
            )
    if problem is None:
        return
    # Never overwrite earlier evidence: the first proof of a fork is the one that matters.
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    evidence = state_path.with_name(f"{state_path.name}.evidence-{stamp}.json")
    evidence.write_text(
        json.dumps(
            {
                "found_at": datetime.now(UTC).isoformat(),
                "problem": problem,
                "stored_checkpoint": state.checkpoint,
                "new_checkpoint": note,
                "consistency_proof": proof,
            },
            indent=2,
        )
        + "\n"
    )
    raise HistoryRewritten(f"{problem}; evidence in {evidence}")
