"""One contract suite for every EphemeralStore backend."""

import os
import time
import uuid

import fakeredis
import pytest
import redis

from idp.store import MemoryStore
from idp.store import RedisStore


def _backends():
    yield pytest.param(MemoryStore, id="memory")
    yield pytest.param(lambda: RedisStore(fakeredis.FakeRedis(), prefix="t:"), id="fakeredis")
    url = os.environ.get("IDP_TEST_REDIS_URL")
    if url:
        def real():
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            return RedisStore(client, prefix=f"t-{uuid.uuid4().hex[:12]}:")
        yield pytest.param(real, id="redis")


@pytest.fixture(params=list(_backends()))
def store(request):
    return request.param()


def test_set_get_delete(store):
    assert store.get("a") is None
    store.set("a", {"x": [1, "二"]}, 10)
    assert store.get("a") == {"x": [1, "二"]}
    store.delete("a")
    assert store.get("a") is None


def test_add_only_once(store):
    assert store.add("jti:1", 1, 10) is True
    assert store.add("jti:1", 2, 10) is False
    assert store.get("jti:1") == 1


def test_pop_is_single_use(store):
    store.set("code", "v", 10)
    assert store.pop("code") == "v"
    assert store.pop("code") is None


def test_incr_counts_within_its_window(store):
    assert [store.incr("n", 10) for _ in range(3)] == [1, 2, 3]
    assert 0 < store.ttl("n") <= 10


def test_values_expire(store):
    store.set("short", 1, 1)
    assert store.ttl("short") in (0, 1)
    time.sleep(1.1)
    assert store.get("short") is None and store.ttl("short") is None
