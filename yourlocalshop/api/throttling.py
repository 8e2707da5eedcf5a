"""Rate limits counted atomically in the cache.

DRF's `SimpleRateThrottle` reads a request history, appends to it and writes it back: concurrent
requests read the same history and each is let through, so a limit of 10 admits 11 or more. Here
every request takes a number with the cache's atomic `add` + `incr` (atomic on Redis, and on
Django's locmem cache, which locks), so exactly `limit` requests pass in a window whatever the
concurrency.

The window is fixed and starts at an identity's first request, so it rolls over and nobody is
locked out for good. Rates are `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]` ("10/min"), read
through DRF's `api_settings` when a throttle is built (once per request), so a changed setting
applies at once.

While the shared cache is unreachable (`yourlocalshop.cache`), each process counts in its own
memory instead: the limit then applies per process (a few times the configured one across the
servers), never to nobody, so login attempts stay limited through a Redis outage.
"""

import time

from django.core.cache import cache
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
        store = cache if cache_available() else _local_counts
        count = self._count(store, key, now=now)
        if store is cache and not cache_available():  # it went away while counting
            store = _local_counts
            count = self._count(store, key, now=now)
        if count is None or count <= self.limit:
            return True
        self.seconds_left = window_seconds_left(
            started_at=store.get(f"{key}:start"), window_seconds=self.window_seconds, now=now
        )
        return False

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
