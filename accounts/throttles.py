from rest_framework.throttling import SimpleRateThrottle


class LoginRateThrottle(SimpleRateThrottle):
    """Limits credential checks per client address (rate: DEFAULT_THROTTLE_RATES["login"]).

    Keyed by address rather than by email, so an attacker guessing one customer's password slows
    down only themselves; the window rolls over, so the real owner is never locked out for good.
    """

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
