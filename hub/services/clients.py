"""Is a client still allowed? Checked on every API request, cached briefly per process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hub.store.db import Database
from hub.store.models import OAuthClient


class ClientStatus:
    def __init__(
        self, db: Database, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def is_active(self, client_id: str) -> bool:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(client_id)
        if cached and cached[1] > now:
            return cached[0]
        with self._db.transaction(readonly=True) as session:
            row = session.get(OAuthClient, client_id)
            active = row is not None and row.disabled_at is None
        with self._lock:
            self._cache[client_id] = (active, now + self._ttl)
        return active
