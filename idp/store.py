"""Ephemeral shared state: authorization codes, interactions, SSO sessions, replay caches.

One narrow protocol, two backends: ``RedisStore`` (shared by every worker and node) and
``MemoryStore`` (one process only, for development). Values are JSON-serialisable; every key
has a time to live. ``tests/unit/test_store.py`` runs one contract suite against both.
"""

import json
import logging
import threading
import time
from typing import Any
from typing import Protocol

from flask import current_app

log = logging.getLogger(__name__)


class EphemeralStore(Protocol):
    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any, ttl: int) -> None: ...

    def add(self, key: str, value: Any, ttl: int) -> bool:
        """Set only if absent; True when this call created the key (replay guard)."""

    def pop(self, key: str) -> Any | None:
        """Get and delete in one atomic step (single-use values)."""

    def delete(self, key: str) -> None: ...

    def incr(self, key: str, ttl: int, amount: int = 1) -> int:
        """Add ``amount`` (may be negative) to a counter, atomically; the first change starts
        its time to live."""

    def ttl(self, key: str) -> int | None:
        """Seconds left, or None when absent."""


class MemoryStore:
    """Process-local store. Honours ``time.time()`` so frozen-time tests see expiry."""

    def __init__(self):
        self._data: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def _live(self, key):
        item = self._data.get(key)
        if item is None:
            return None
        if item[0] <= time.time():
            del self._data[key]
            return None
        return item

    def get(self, key):
        with self._lock:
            item = self._live(key)
        return None if item is None else json.loads(item[1])

    def set(self, key, value, ttl):
        with self._lock:
            self._data[key] = (time.time() + ttl, json.dumps(value))

    def add(self, key, value, ttl):
        with self._lock:
            if self._live(key) is not None:
                return False
            self._data[key] = (time.time() + ttl, json.dumps(value))
            return True

    def pop(self, key):
        with self._lock:
            item = self._live(key)
            if item is None:
                return None
            del self._data[key]
        return json.loads(item[1])

    def delete(self, key):
        with self._lock:
            self._data.pop(key, None)

    def incr(self, key, ttl, amount=1):
        with self._lock:
            item = self._live(key)
            if item is None:
                expires, count = time.time() + ttl, 0
            else:
                expires, count = item[0], json.loads(item[1])
            count += amount
            self._data[key] = (expires, json.dumps(count))
        return count

    def ttl(self, key):
        with self._lock:
            item = self._live(key)
        return None if item is None else max(0, int(item[0] - time.time()))


class RedisStore:
    """Redis-backed store; keys are namespaced with ``prefix``."""

    def __init__(self, client, prefix="idp:"):
        self._r = client
        self._p = prefix

    @classmethod
    def from_url(cls, url, socket_timeout, connect_timeout, prefix="idp:"):
        import redis

        client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            health_check_interval=30,
        )
        return cls(client, prefix)

    def get(self, key):
        raw = self._r.get(self._p + key)
        return None if raw is None else json.loads(raw)

    def set(self, key, value, ttl):
        self._r.set(self._p + key, json.dumps(value), ex=max(1, int(ttl)))

    def add(self, key, value, ttl):
        return bool(self._r.set(self._p + key, json.dumps(value), ex=max(1, int(ttl)), nx=True))

    def pop(self, key):
        raw = self._r.getdel(self._p + key)
        return None if raw is None else json.loads(raw)

    def delete(self, key):
        self._r.delete(self._p + key)

    def incr(self, key, ttl, amount=1):
        pipe = self._r.pipeline()
        pipe.incr(self._p + key, amount)
        pipe.expire(self._p + key, max(1, int(ttl)), nx=True)
        count, _ = pipe.execute()
        return int(count)

    def ttl(self, key):
        left = self._r.ttl(self._p + key)
        return None if left is None or left < 0 else int(left)

    def ping(self):
        return self._r.ping()


def init_store(app):
    url = app.config.get("REDIS_URL")
    if url:
        backend = RedisStore.from_url(url, app.config["REDIS_SOCKET_TIMEOUT"],
                                      app.config["REDIS_CONNECT_TIMEOUT"],
                                      app.config["REDIS_PREFIX"])
    else:
        backend = MemoryStore()
        if app.config["WORKERS"] > 1:
            log.warning("IDP_REDIS_URL is not set: the in-process store serves one process only, "
                        "but %s workers are configured; sessions and codes will not be shared",
                        app.config["WORKERS"])
        elif not app.testing:
            log.warning("IDP_REDIS_URL is not set: using the in-process store (one process only)")
    app.extensions["idp.store"] = backend


def store():
    return current_app.extensions["idp.store"]
