"""Rate limits counted atomically in the cache.

DRF's `SimpleRateThrottle` reads a request history, appends to it and writes it back: concurrent
requests read the same history and each is let through, so a limit of 10 admits 11 or more. Here
every request takes a number atomically, so exactly `limit` requests pass in a window whatever the
concurrency: on the project's Redis cache with `count_in_window` (one MULTI/EXEC, one round
trip), on any other cache with its `add` + `incr` (Django's locmem cache locks).

The window is fixed and starts at an identity's first request, so it rolls over and nobody is
locked out for good. Rates are `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]` ("10/min"), read
through DRF's `api_settings` when a throttle is built (once per request), so a changed setting
applies at once.

While the shared cache is unreachable (`yourlocalshop.cache`), each process counts in its own
memory instead: the limit then applies per process (a few times the configured one across the
servers), never to nobody, so login attempts stay limited through a Redis outage.
"""

import time
from collections.abc import Callable

from django.core import cache as django_cache
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from yourlocalshop.cache import cache_available

PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Attempts at counting when the window's key vanishes between `add` and `incr`; a cache that
# never keeps anything (Django's dummy cache) fails every one, and then nothing is limited.
COUNT_ATTEMPTS = 3
# Counts while the shared cache is unreachable; per process, bounded.
_local_counts = LocMemCache("throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


def client_address(request: HttpRequest) -> str:
    """The client's address as DRF's throttles see it: `REMOTE_ADDR` when `NUM_PROXIES`
    (settings.TRUSTED_PROXY_COUNT) is 0 or the request has no X-Forwarded-For, otherwise the
    header's entry that many from the right, the one the outermost trusted proxy appended.
    Entries left of it are the client's to write. Works for Django and DRF requests alike."""
    return BaseThrottle().get_ident(request)


def rate_parse(rate: str) -> tuple[int, int]:
    """ "10/min" (DRF's format: a count, then a period starting with s, m, h or d) as
    (limit, window seconds)."""
    count, _, period = rate.partition("/")
    if not count.isdigit() or period[:1] not in PERIOD_SECONDS:
        raise ImproperlyConfigured(f"Rate {rate!r} is not like '10/min'.")
    return int(count), PERIOD_SECONDS[period[0]]


def window_seconds_left(*, started_at: float | None, window_seconds: int, now: float) -> float:
    """Seconds until a window that began at `started_at` ends (the whole window when the start
    is unknown). At least one second: Retry-After is whole seconds, and 0 would invite the
    client straight back into the window that refused it. At most the window: a concurrent
    request may have read the clock just before the one that opened the window."""
    if started_at is None:
        return window_seconds
    return min(window_seconds, max(1.0, started_at + window_seconds - now))


def _backend():
    """The cache the throttles count in: this thread's default cache behind Django's `cache`
    proxy. What it can do is asked of its class: the proxy, and a stand-in wrapping the cache,
    forward every attribute lookup."""
    return caches[DEFAULT_CACHE_ALIAS] if cache is django_cache.cache else cache


class FixedWindowRateThrottle(BaseThrottle):
    """Admits `limit` requests per identity and window of the rate under `scope`; `wait()` is
    the rest of the window, which DRF sends as Retry-After.

    Subclasses set `scope` and may override `identity` (default: the client address).
    """

    scope: str
    timer = time.time

    def __init__(self):
        try:
            rate = api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as missing:
            raise ImproperlyConfigured(
                f"No DEFAULT_THROTTLE_RATES entry for {self.scope!r}."
            ) from missing
        self.limit, self.window_seconds = rate_parse(rate)
        self.seconds_left: float | None = None

    def identity(self, request) -> str:
        return f"address:{client_address(request)}"

    def allow_request(self, request, view) -> bool:
        key = f"throttle:{self.scope}:{self.identity(request)}"
        now = self.timer()
        count, started_at = self._count_in_window(key, now=now)
        if count is None or count <= self.limit:
            return True
        self.seconds_left = window_seconds_left(
            started_at=started_at(), window_seconds=self.window_seconds, now=now
        )
        return False

    def _count_in_window(
        self, key: str, *, now: float
    ) -> tuple[int | None, Callable[[], float | None]]:
        """This request's number in the current window of `key` (None when the cache keeps
        nothing) and how to read the window's start: in the shared cache, in this process's
        memory while that is unreachable (also when it went away while counting)."""
        if cache_available():
            backend = _backend()
            if hasattr(type(backend), "count_in_window"):  # the project's Redis cache
                counted = backend.count_in_window(key, window_seconds=self.window_seconds, now=now)
                if counted is not None:
                    count, started_at = counted
                    return count, lambda: started_at
            else:
                count = self._count(cache, key, now=now)
                if cache_available():
                    return count, lambda: cache.get(f"{key}:start")
        count = self._count(_local_counts, key, now=now)
        return count, lambda: _local_counts.get(f"{key}:start")

    def wait(self) -> float | None:
        return self.seconds_left

    def _count(self, store, key: str, *, now: float) -> int | None:
        """This request's number in the current window of `key` in `store`, or None when it
        keeps nothing."""
        for _attempt in range(COUNT_ATTEMPTS):
            store.add(key, 0, timeout=self.window_seconds)
            try:
                count = store.incr(key)
            except ValueError:  # the window expired (or was evicted) since `add`: open it again
                continue
            if count == 1:
                # The window's first request sets its expiry once more: Django's Redis `incr`
                # checks that the key exists and then increments, and a key expiring in between
                # comes back without an expiry, which would never roll over. Its start is only
                # read to answer a refusal; until it is there, a refusal names the whole window.
                store.touch(key, self.window_seconds)
                store.set(f"{key}:start", now, timeout=self.window_seconds)
            return count
        return None
