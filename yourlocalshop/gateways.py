"""The one way an app reaches an external system (payment provider, courier): a `Protocol` in the
app's `gateways.py` says what the shop needs, and `<system>_gateway()` there returns an instance of
the class a setting names (`PAYMENT_GATEWAY`, `COURIER_GATEWAY`), built by `configured_gateway`.
A provider's class needs no base class of ours; the mocks are such classes too.
"""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


@cache
def _gateway_class(dotted_path: str) -> type:
    return import_string(dotted_path)


def configured_gateway(setting: str):
    """A new instance of the class named by the dotted path in `settings.<setting>` (the class is
    imported once per path; a test that changes the setting gets the class it names)."""
    return _gateway_class(getattr(settings, setting))()
