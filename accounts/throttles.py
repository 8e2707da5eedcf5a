from yourlocalshop.api.throttling import FixedWindowRateThrottle


class LoginRateThrottle(FixedWindowRateThrottle):
    """Limits credential checks per client address (rate: DEFAULT_THROTTLE_RATES["login"]).

    Keyed by address rather than by email, so an attacker guessing one customer's password slows
    down only themselves; the window rolls over, so the real owner is never locked out for good.
    """

    scope = "login"
