"""The project's Redis cache backend beyond Django's (fail-soft behaviour: test_redis_down.py)."""

import pytest
from django.core.cache import caches

pytestmark = pytest.mark.redis


def test_get_or_add_many_sets_what_is_absent_and_keeps_what_is_there():
    backend = caches["default"]
    backend.delete_many(["test:token:a", "test:token:b"])
    backend.set("test:token:a", "already", timeout=None)

    held = backend.get_or_add_many({"test:token:a": "new-a", "test:token:b": "new-b"})

    assert held == {"test:token:a": "already", "test:token:b": "new-b"}
    assert backend.get_many(["test:token:a", "test:token:b"]) == held
    stored_key = backend.make_and_validate_key("test:token:b")
    assert backend._cache.get_client(stored_key).ttl(stored_key) == -1  # timeout None: kept
    assert backend.get_or_add_many({}) == {}
