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

    @property
    def THROTTLE_RATES(self):  # DRF's attribute name
        # Read per request, not at import, so settings overrides (tests, env) take effect.
        return api_settings.DEFAULT_THROTTLE_RATES

    @property
    def cache(self):
        return caches[THROTTLE_CACHE_ALIAS]

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.num_requests is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        key = f"{self.get_cache_key(request, view)}:{window}"
        try:
            count = self._increment(key)
        except Exception:
            logger.warning("Throttle cache unavailable; allowing the request.", exc_info=True)
            return True
        return count <= self.num_requests

    def _increment(self, key: str) -> int:
        cache = self.cache
        # The counter outlives its window slightly so a late increment never resurrects it.
        cache.add(key, 0, timeout=self.duration + 5)
        try:
            return cache.incr(key)
        except ValueError:  # evicted between add and incr: start it again
            cache.add(key, 1, timeout=self.duration + 5)
            return 1

    def wait(self) -> float:
        return max(self.window_ends_at - self.now, 1.0)
