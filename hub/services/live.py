"""Live notifications: "agency A has a new delivery at position N", fanned out to every open
stream in every hub process.

A notification carries no personal data (an agency id, an inbox position, and whether it is for a
named person), only a wake-up: each stream then reads the delivery from the database, audited, as
its reader may see it. So a notification lost (a process gone between commit and publish) costs
latency, never data: the relay publishes from the outbox again, and streams re-read the database
on every keep-alive.

With `HUB_REDIS_URL` set, notifications go through Redis pub/sub so a browser connected to one
process hears of a delivery accepted by another; without it one process fans out in memory.
"""

from __future__ import annotations

import contextlib
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub import logs

CHANNEL = "hub:deliveries"
log = logs.get_logger("hub.live")


@dataclass(frozen=True)
class Notice:
    agency: str
    position: int


class Listener:
    """One open stream's wake-up: set when a notice for its agency arrives."""

    def __init__(self, agency: str, hub: LocalFanout) -> None:
        self.agency = agency
        self._hub = hub
        self._event = threading.Event()
        self.latest = 0

    def notify(self, notice: Notice) -> None:
        self.latest = max(self.latest, notice.position)
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """True when woken by a notice, False on timeout."""
        woken = self._event.wait(timeout)
        self._event.clear()
        return woken

    def close(self) -> None:
        self._hub.remove(self)


class LocalFanout:
    """The streams open in this process, by agency."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = {}
        self._lock = threading.Lock()

    def listen(self, agency: str) -> Listener:
        listener = Listener(agency, self)
        with self._lock:
            self._listeners.setdefault(agency, set()).add(listener)
        return listener

    def remove(self, listener: Listener) -> None:
        with self._lock:
            found = self._listeners.get(listener.agency)
            if found is not None:
                found.discard(listener)
                if not found:
                    del self._listeners[listener.agency]

    def dispatch(self, notice: Notice) -> None:
        with self._lock:
            listeners = list(self._listeners.get(notice.agency, ()))
        for listener in listeners:
            listener.notify(notice)

    def count(self) -> int:
        with self._lock:
            return sum(len(found) for found in self._listeners.values())


class Notifier(ABC):
    """Publishes notices to every process's streams; each process listens through `local`."""

    def __init__(self) -> None:
        self.local = LocalFanout()

    @abstractmethod
    def publish(self, notices: list[Notice]) -> None: ...

    def start(self) -> None:  # noqa: B027 (optional: the in-memory notifier has nothing to start)
        """Begin hearing other processes' notices."""

    def stop(self) -> None:  # noqa: B027
        """Stop hearing them."""


class MemoryNotifier(Notifier):
    """One process alone: publishing is dispatching."""

    def publish(self, notices: list[Notice]) -> None:
        for notice in notices:
            self.local.dispatch(notice)


class PollingNotifier(MemoryNotifier):
    """Several processes without Redis: each publishes to its own streams at once, and one
    thread per process notices other processes' deliveries by asking the database, twice a
    second, for the newest delivery position of each agency (one indexed query)."""

    def __init__(self, newest: Callable[[int], dict[str, int]], interval: float = 0.5) -> None:
        super().__init__()
        self._newest = newest
        self._interval = interval
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hub-live-poll", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def _run(self) -> None:
        seen: int | None = None
        while not self._stopping.wait(self._interval):
            try:
                found = self._newest(seen or 0)
            except Exception as error:  # noqa: BLE001 (the database away: try again later)
                log.warning("live.poll_failed", error=type(error).__name__)
                continue
            if seen is not None:  # the first look only learns where things stand
                for agency, position in found.items():
                    self.local.dispatch(Notice(agency, position))
            seen = max([seen or 0, *found.values()])


class RedisNotifier(Notifier):
    """Redis pub/sub between processes. A background thread hears every process's notices (its
    own included) and wakes this process's streams; it reconnects after Redis goes away."""

    def __init__(self, url: str, client_factory: Callable[[str], Any] | None = None) -> None:
        super().__init__()
        import redis

        self._redis = (
            client_factory
            or (lambda u: redis.Redis.from_url(u, socket_timeout=5, socket_connect_timeout=5))
        )(url)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def publish(self, notices: list[Notice]) -> None:
        if not notices:
            return
        for notice in notices:  # this process's streams at once, whatever Redis does
            self.local.dispatch(notice)
        pipe = self._redis.pipeline(transaction=False)
        for notice in notices:
            pipe.publish(CHANNEL, json.dumps({"a": notice.agency, "p": notice.position}))
        pipe.execute()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hub-live", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(CHANNEL)
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    found = json.loads(message["data"])
                    self.local.dispatch(Notice(str(found["a"]), int(found["p"])))
            except Exception as error:  # noqa: BLE001 (Redis away: log, wait, reconnect)
                log.warning("live.redis_unavailable", error=type(error).__name__)
                self._stopping.wait(1.0)
            finally:
                with contextlib.suppress(Exception):  # closing a broken connection
                    pubsub.close()
