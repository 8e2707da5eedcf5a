"""The atomic fixed-window throttle behind the login and checkout rate limits."""

import time
from collections import Counter

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient, APIRequestFactory

from accounts.throttles import LoginRateThrottle
from yourlocalshop.api import throttling
from yourlocalshop.api.throttling import client_address, rate_parse, window_seconds_left
from yourlocalshop.testing import run_concurrently


def _request(address: str = "203.0.113.7"):
    return APIRequestFactory().post("/api/auth/login", REMOTE_ADDR=address)


def _throttle_at(now: float) -> LoginRateThrottle:
    throttle = LoginRateThrottle()
    throttle.timer = lambda: now
    return throttle


def test_trusted_proxy_count_is_drfs_num_proxies_and_zero_by_default(settings):
    assert settings.TRUSTED_PROXY_COUNT == 0
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "address"),
    [
        (0, None, "10.0.0.2"),
        # Reached directly, the header is the client's own writing.
        (0, "198.51.100.4", "10.0.0.2"),
        (0, "198.51.100.4, 203.0.113.7", "10.0.0.2"),
        (1, None, "10.0.0.2"),
        (1, "203.0.113.7", "203.0.113.7"),
        # The proxy appended the last entry; the ones before it came with the request.
        (1, "198.51.100.4, 203.0.113.7", "203.0.113.7"),
        (1, "198.51.100.4,203.0.113.7", "203.0.113.7"),
        (2, "198.51.100.4, 203.0.113.7, 10.0.0.1", "203.0.113.7"),
        (1, "198.51.100.4, 2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address_trusts_only_the_entries_the_proxies_appended(
    settings, proxies, forwarded_for, address
):
    # Through the settings fixture: DRF reloads `api_settings` on `setting_changed`.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    request = APIRequestFactory().post("/api/auth/login", REMOTE_ADDR="10.0.0.2", **headers)

    assert client_address(request) == address


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("10/min", (10, 60)), ("3/s", (3, 1)), ("100/hour", (100, 3600)), ("5/day", (5, 86400))],
)
def test_rate_parse_reads_drf_rate_strings(rate, parsed):
    assert rate_parse(rate) == parsed


@pytest.mark.parametrize("rate", ["", "10", "ten/min", "10/fortnight", "-1/min"])
def test_rate_parse_refuses_malformed_rates(rate):
    with pytest.raises(ImproperlyConfigured):
        rate_parse(rate)


def test_window_seconds_left_is_the_rest_of_the_window_and_at_least_one_second():
    assert window_seconds_left(started_at=1000.0, window_seconds=60, now=1000.0) == 60
    assert window_seconds_left(started_at=1000.0, window_seconds=60, now=1045.5) == 14.5
    assert window_seconds_left(started_at=1000.0, window_seconds=60, now=1059.8) == 1
    assert window_seconds_left(started_at=1000.0, window_seconds=60, now=1075.0) == 1
    assert window_seconds_left(started_at=None, window_seconds=60, now=1045.0) == 60
    # A request that read the clock a moment before the request that opened the window.
    assert window_seconds_left(started_at=1000.0, window_seconds=60, now=999.9) == 60


def test_throttle_admits_the_limit_then_waits_for_the_window_to_end(throttle_rates):
    throttle_rates(login="2/min")
    request = _request()

    admitted = [_throttle_at(1000.0).allow_request(request, None) for _attempt in range(2)]
    refused_at_once, refused_later = _throttle_at(1000.0), _throttle_at(1042.0)

    assert admitted == [True, True]
    assert refused_at_once.allow_request(request, None) is False
    assert refused_at_once.wait() == 60
    assert refused_later.allow_request(request, None) is False
    assert refused_later.wait() == 18
    # Another address counts on its own.
    assert _throttle_at(1042.0).allow_request(_request("198.51.100.9"), None) is True


def test_throttle_window_rolls_over(throttle_rates):
    throttle_rates(login="1/s")
    request = _request()
    assert LoginRateThrottle().allow_request(request, None) is True
    assert LoginRateThrottle().allow_request(request, None) is False

    time.sleep(1.1)

    assert LoginRateThrottle().allow_request(request, None) is True


class _ExpiringOnceCache:
    """The real cache, except that the key vanishes once between `add` and `incr`, as when its
    window expires (or the cache evicts it) at that moment."""

    def __init__(self):
        self.expired = False

    def __getattr__(self, name):
        return getattr(cache, name)

    def incr(self, key, delta=1):
        if not self.expired:
            self.expired = True
            cache.delete(key)
        return cache.incr(key, delta)


def test_throttle_counts_a_window_that_expired_between_add_and_incr(throttle_rates, monkeypatch):
    throttle_rates(login="2/min")
    expiring = _ExpiringOnceCache()
    monkeypatch.setattr(throttling, "cache", expiring)
    request = _request()

    answers = [LoginRateThrottle().allow_request(request, None) for _attempt in range(3)]

    assert expiring.expired
    assert answers == [True, True, False]


class _RecreatingWithoutExpiryCache(_ExpiringOnceCache):
    """Django's Redis `incr`: EXISTS, then INCR. When the key expires in between, INCR brings it
    back without an expiry."""

    def incr(self, key, delta=1):
        if not self.expired:
            self.expired = True
            cache.set(key, 0, timeout=None)
        return cache.incr(key, delta)


def test_throttle_window_rolls_over_after_incr_recreated_its_key(throttle_rates, monkeypatch):
    throttle_rates(login="1/s")
    monkeypatch.setattr(throttling, "cache", _RecreatingWithoutExpiryCache())
    request = _request()
    assert LoginRateThrottle().allow_request(request, None) is True
    assert LoginRateThrottle().allow_request(request, None) is False

    time.sleep(1.1)

    assert LoginRateThrottle().allow_request(request, None) is True


def test_throttle_limits_nothing_when_the_cache_keeps_nothing(throttle_rates, monkeypatch):
    from django.core.cache.backends.dummy import DummyCache

    throttle_rates(login="1/min")
    monkeypatch.setattr(throttling, "cache", DummyCache("dummy", {}))

    assert all(LoginRateThrottle().allow_request(_request(), None) for _attempt in range(3))


@pytest.mark.redis
@pytest.mark.parametrize(
    ("scope", "path"), [("login", "/api/auth/login"), ("checkout", "/api/orders/lookup")]
)
def test_concurrent_requests_get_exactly_the_limit_through(throttle_rates, scope, path):
    """30 requests at once from each of three addresses against 10/min: DRF's history throttle
    let up to all 30 of an address through."""
    throttle_rates(**{scope: "10/min"})
    addresses = ["203.0.113.7", "203.0.113.8", "2001:db8::1"]

    def attempt(address):
        # An empty body is refused (400) after the throttle counted it, without a database.
        response = APIClient().post(path, {}, format="json", REMOTE_ADDR=address)
        return address, response

    outcomes = run_concurrently(attempt, addresses * 30, reraise=True)

    admitted = Counter(address for address, response in outcomes if response.status_code == 400)
    assert admitted == dict.fromkeys(addresses, 10)
    refused = [response for _address, response in outcomes if response.status_code != 400]
    assert len(refused) == 60
    for response in refused:
        assert response.status_code == 429
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "rate_limited"
        assert 1 <= int(response["Retry-After"]) <= 60


@pytest.mark.redis
def test_redis_window_counter_keeps_the_first_start_and_expiry():
    from django.core.cache import caches

    backend = caches["default"]
    key = "throttle:test:window"
    stored_key = backend.make_and_validate_key(key)
    client = backend._cache.get_client(stored_key, write=True)
    backend.delete(key)

    first = backend.count_in_window(key, window_seconds=60, now=1000.0)
    client.expire(stored_key, 5)  # as if 55 s of the window had passed
    second = backend.count_in_window(key, window_seconds=60, now=1055.0)

    assert first == (1, 1000.0)
    assert second == (2, 1000.0)
    # Only the request that opened the window set its expiry; later ones leave it running.
    assert 0 < client.ttl(stored_key) <= 5
