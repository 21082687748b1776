"""Throttles whose rates are read from settings per request (so tests and ops can tune them)."""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class AnonThrottle(AnonRateThrottle):
    def get_rate(self):
        return settings.ADOLOGY_THROTTLE_RATES["anon"]


class UserThrottle(UserRateThrottle):
    def get_rate(self):
        return settings.ADOLOGY_THROTTLE_RATES["user"]
