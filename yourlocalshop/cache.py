"""The Redis cache backend: one client per connection pool, fail-soft when Redis is down, a
window counter in one round trip for the rate limits (`count_in_window`), and many keys set where
absent and read back in one round trip (`get_or_add_many`, the catalogue's new tokens).

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` on every cache call, which
registers some 170 response callbacks each time: about a third of a cached catalogue request's
CPU, and a cost paid by every throttle and stock-hint lookup too. A client is thread-safe and
holds no state beyond its pool, so one per pool serves every call.

The cache only ever speeds the shop up, so Redis being unreachable must not fail a request: a
connection error or timeout is logged (once per outage), reads answer a miss and writes are
dropped, and for CACHE_RETRY_SECONDS the process does not try again (a dead host would otherwise
cost every request a socket timeout). Callers that must know (the rate limits, the health check)
ask `cache_available()`.

A write dropped while Redis was unreachable may have been an invalidation (a price edit replacing
the catalogue's version token): once Redis answers again, entries it should have orphaned would be
served. So a process that dropped a write sends `cache_recovered` when it next reaches Redis, and
the owners of cached data orphan what they cached (the catalogue replaces its version tokens).
The processes that dropped writes may all be gone by then (restarted, scaled down, killed while
Redis was away), so the first drop of an outage is also recorded in the database
(`CacheWritesDropped`, one row per server): a process checks it before its first Redis call and
again each time Redis answers after failing it, and acts on it as on a drop of its own; the
process that completes the recovery deletes the record.
"""

import hashlib
import logging
import threading
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends import redis as django_redis
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
# Sent (robustly) by a process that dropped a cache write during an outage, when it reaches Redis
# again; receivers orphan whatever they cached.
cache_recovered = Signal()


class _Reachability:
    """Per process and server (Django builds a cache object per thread)."""

    def __init__(self, server: str) -> None:
        self.lock = threading.Lock()
        self.server_key = hashlib.sha256(server.encode()).hexdigest()
        self.retry_at = 0.0  # time.monotonic() before which Redis is not tried again; 0: up
        self.write_dropped = False
        # Whether the durable record of other processes' drops was read since Redis last failed.
        self.record_checked = False
        self.recovering_thread: int | None = None

    def skipping(self) -> bool:
        # While one thread orphans what the outage made stale, the others do not read it.
        recovering = self.recovering_thread
        if recovering is not None and recovering != threading.get_ident():
            return True
        return time.monotonic() < self.retry_at

    def failed(self, *, write: bool, operation: str, error: Exception) -> None:
        with self.lock:
            newly_down = self.retry_at == 0.0
            self.retry_at = time.monotonic() + settings.CACHE_RETRY_SECONDS
            self.record_checked = False
        if newly_down:
            logger.warning(
                "The cache is unreachable; serving without it",
                extra={"operation": operation, "error": repr(error)},
            )
        if write:
            self.dropped_write()

    def dropped_write(self) -> None:
        with self.lock:
            first = not self.write_dropped
            self.write_dropped = True
        if first:
            # After the caller's commit: a rolled-back record would be no record.
            transaction.on_commit(self._record_dropped_writes, robust=True)

    def _record_dropped_writes(self) -> None:
        from yourlocalshop.models import CacheWritesDropped

        try:
            CacheWritesDropped.objects.update_or_create(
                server=self.server_key, defaults={"dropped_at": timezone.now()}
            )
        except Exception:
            logger.warning(
                "Could not record the cache writes dropped during the outage", exc_info=True
            )

    def check_record(self) -> None:
        """Once per process, and again after each failure: another process's dropped writes
        (recorded in the database) count as this process's own."""
        from yourlocalshop.models import CacheWritesDropped

        self.record_checked = True
        try:
            recorded = CacheWritesDropped.objects.filter(server=self.server_key).exists()
        except Exception:
            logger.warning("Could not read the record of dropped cache writes", exc_info=True)
            return
        if recorded:
            with self.lock:
                self.write_dropped = True

    def forget_record(self, *, recovery_started_at) -> None:
        """The owners orphaned what they cached: drops recorded before this recovery began are
        dealt with."""
        from yourlocalshop.models import CacheWritesDropped

        try:
            CacheWritesDropped.objects.filter(
                server=self.server_key, dropped_at__lte=recovery_started_at
            ).delete()
        except Exception:
            logger.warning("Could not clear the record of dropped cache writes", exc_info=True)

    def claim_recovery(self) -> bool:
        """True for the one caller that should send `cache_recovered` now."""
        with self.lock:
            if not self.write_dropped or self.recovering_thread is not None:
                return False
            self.write_dropped, self.recovering_thread = False, threading.get_ident()
            return True

    def recovery_done(self) -> None:
        self.recovering_thread = None

    def answered(self) -> None:
        if self.retry_at:
            self.retry_at = 0.0
            logger.info("The cache answers again")


_reachability: dict[str, _Reachability] = {}
_reachability_lock = threading.Lock()


def _reachability_of(server: str) -> _Reachability:
    with _reachability_lock:
        if server not in _reachability:
            _reachability[server] = _Reachability(server)
        return _reachability[server]


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


def _fail_soft(name: str, *, write: bool, fallback, parent=None):
    parent = parent or getattr(django_redis.RedisCache, name)

    def method(self, *args, **kwargs):
        reachability = self._reachability
        if not reachability.record_checked and not reachability.skipping():
            reachability.check_record()
        if reachability.write_dropped and not reachability.skipping():
            _recover(self, reachability)
        if reachability.skipping():
            if write:
                reachability.dropped_write()
            return fallback(*args, **kwargs)
        try:
            result = parent(self, *args, **kwargs)
        except UNREACHABLE as error:
            reachability.failed(write=write, operation=name, error=error)
            return fallback(*args, **kwargs)
        reachability.answered()
        return result

    method.__name__ = name
    method.__doc__ = parent.__doc__
    return method


def _recover(backend, reachability: _Reachability) -> None:
    """Before this process reads the cache again after dropping writes: let the owners of cached
    data orphan it. Their own cache calls go through the same methods; if Redis is still
    unreachable they fail, the drop is recorded again, and the next call retries."""
    if not reachability.claim_recovery():
        return
    started_at = timezone.now()
    try:
        logger.info("The cache answers again after dropped writes; orphaning cached data")
        failed = False
        for receiver, response in cache_recovered.send_robust(sender=type(backend)):
            if isinstance(response, Exception):
                logger.error(
                    "A cache recovery receiver failed",
                    exc_info=response,
                    extra={"receiver": getattr(receiver, "__qualname__", repr(receiver))},
                )
                failed = True
        if failed or reachability.write_dropped:
            # A receiver failed, or its own cache calls found Redis gone again: not recovered.
            reachability.write_dropped = True
        else:
            reachability.forget_record(recovery_started_at=started_at)
    finally:
        reachability.recovery_done()


def _default(key, default=None, *args, **kwargs):
    return default


def _nothing(*args, **kwargs):
    return None


def _false(*args, **kwargs):
    return False


def _no_keys(*args, **kwargs):
    return {}


def _all_keys_failed(data, *args, **kwargs):
    return list(data)


def _missing_key(*args, **kwargs):
    raise ValueError("The cache is unreachable.")  # what `incr` raises for a missing key


def _count_in_window(self, key: str, *, window_seconds: int, now: float) -> tuple[int, float]:
    """Count one more event in the window of `key` (opened now, for `window_seconds`, when there
    is none) and return the count with the window's start, in one round trip; None while Redis
    is unreachable.

    One hash per window holds both, written in one MULTI/EXEC: nothing can expire between
    opening the window and counting in it, the expiry is set only by the request that opened it
    (EXPIRE NX), and a refusal needs no second read for its Retry-After.
    """
    key = self.make_and_validate_key(key)
    with self._cache.get_client(key, write=True).pipeline(transaction=True) as pipeline:
        pipeline.hsetnx(key, "start", repr(now))
        pipeline.hincrby(key, "count", 1)
        pipeline.expire(key, window_seconds, nx=True)
        pipeline.hget(key, "start")
        _, count, _, started_at = pipeline.execute()
    return count, float(started_at)


def _get_or_add_many(self, data: dict, timeout=None) -> dict:
    """Set each key to its value where the key holds nothing, and return what every key holds
    then (the value set, or the one already there), in one round trip: a pipeline of `SET NX`
    and `GET` per key, where `add` then `get` cost two round trips a key. Keys holding nothing
    after it (evicted at once) are absent from the answer; {} while Redis is unreachable."""
    if not data:
        return {}
    client = self._cache
    keys = {key: self.make_and_validate_key(key) for key in data}
    expiry = self.get_backend_timeout(timeout)
    with client.get_client(None, write=True).pipeline(transaction=False) as pipeline:
        for key, value in data.items():
            pipeline.set(keys[key], client._serializer.dumps(value), ex=expiry, nx=True)
            pipeline.get(keys[key])
        replies = pipeline.execute()
    held = replies[1::2]
    return {
        key: client._serializer.loads(value)
        for key, value in zip(data, held, strict=True)
        if value is not None
    }


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
        self._reachability = _reachability_of(str(server))

    def available(self) -> bool:
        return not self._reachability.skipping()

    get = _fail_soft("get", write=False, fallback=_default)
    get_many = _fail_soft("get_many", write=False, fallback=_no_keys)
    has_key = _fail_soft("has_key", write=False, fallback=_false)
    add = _fail_soft("add", write=True, fallback=_false)
    set = _fail_soft("set", write=True, fallback=_nothing)
    set_many = _fail_soft("set_many", write=True, fallback=_all_keys_failed)
    touch = _fail_soft("touch", write=True, fallback=_false)
    delete = _fail_soft("delete", write=True, fallback=_false)
    delete_many = _fail_soft("delete_many", write=True, fallback=_nothing)
    incr = _fail_soft("incr", write=True, fallback=_missing_key)
    clear = _fail_soft("clear", write=True, fallback=_nothing)
    count_in_window = _fail_soft(
        "count_in_window", write=True, fallback=_nothing, parent=_count_in_window
    )
    get_or_add_many = _fail_soft(
        "get_or_add_many", write=True, fallback=_no_keys, parent=_get_or_add_many
    )


def cache_available(alias: str = "default") -> bool:
    """False while the cache is known to be unreachable (a local cache always is available)."""
    backend = caches[alias]
    available = getattr(backend, "available", None)
    return True if available is None else available()
