from yourlocalshop.api.throttling import FixedWindowRateThrottle


class CheckoutRateThrottle(FixedWindowRateThrottle):
    """Limits checkout starts, order placements and guest order lookups (rate:
    DEFAULT_THROTTLE_RATES["checkout"]) per customer, or per client address for guests, whose
    fresh carts would otherwise each start a new count."""

    scope = "checkout"

    def identity(self, request) -> str:
        if request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return super().identity(request)
