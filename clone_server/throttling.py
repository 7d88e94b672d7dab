"""Per-user scoped throttles on a shared cache, so a limit holds across every server worker."""

import logging

from django.core.cache import caches
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

logger = logging.getLogger(__name__)

THROTTLE_CACHE_ALIAS = "throttle"


class UserScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle (a view opts in with ``throttle_scope``; rates come from
    ``DEFAULT_THROTTLE_RATES``), keyed on the user, counted atomically in the ``throttle`` cache.

    DRF's own throttle keeps a list of timestamps and writes it back after reading it, so two
    workers racing each lose the other's request. Here each window is one counter that the cache
    increments atomically (Redis INCR across workers), so N workers together allow exactly
    ``num_requests`` per window. Windows are fixed: ``Retry-After`` is the time left in the
    current one. If the cache is unreachable the request is allowed (and logged): a throttle
    outage must not become an API outage.
    """

    cache_format = "throttle:%(scope)s:%(ident)s"

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        # Read per request, not at import (DRF's class attribute), so settings overrides (tests,
        # env) take effect. The stubs type the rates as numbers; they are "N/period" strings.
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES  # type: ignore[assignment]
        self.rate = self.get_rate()
        num_requests, duration = self.parse_rate(self.rate)
        self.num_requests, self.duration = num_requests, duration
        if num_requests is None or duration is None:
            return True
        now = self.timer()
        self.now = now
        window = int(now // duration)
        self.window_ends_at = (window + 1) * duration
        key = f"{self.get_cache_key(request, view)}:{window}"
        try:
            # The counter outlives its window slightly so a late increment never resurrects it.
            count = self._increment(key, timeout=duration + 5)
        except Exception:
            logger.warning("Throttle cache unavailable; allowing the request.", exc_info=True)
            return True
        return count <= num_requests

    def _increment(self, key: str, *, timeout: int) -> int:
        cache = caches[THROTTLE_CACHE_ALIAS]  # not DRF's `cache`: the shared one, per request
        cache.add(key, 0, timeout=timeout)
        try:
            return cache.incr(key)
        except ValueError:  # evicted between add and incr: start it again
            cache.add(key, 1, timeout=timeout)
            return 1

    def wait(self) -> float:
        return max(self.window_ends_at - self.now, 1.0)
