"""Deterministic race injection: run a callback just before or after a named step of a module."""

import contextlib
from collections.abc import Callable
from unittest import mock


class SimulatedCrash(BaseException):
    """A BaseException passes every `except Exception`, like a process killed mid-request."""


@contextlib.contextmanager
def around_step(
    target: str,
    *,
    before: Callable[[], None] | None = None,
    after: Callable[[object], None] | None = None,
    times: int = 1,
):
    """Patch `target` ("module.function") so its first `times` calls run `before()` first and
    `after(result)` afterwards; later calls are untouched."""
    module_name, _, name = target.rpartition(".")
    module = __import__(module_name, fromlist=[name])
    original = getattr(module, name)
    calls = {"count": 0}

    def wrapper(*args, **kwargs):
        calls["count"] += 1
        injected = calls["count"] <= times
        if injected and before is not None:
            before()
        result = original(*args, **kwargs)
        if injected and after is not None:
            after(result)
        return result

    with mock.patch.object(module, name, wrapper):
        yield calls
