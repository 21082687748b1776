"""Production: everything from the environment, nothing secret has a default."""

from django.core.exceptions import ImproperlyConfigured

from adology.logging import logging_config

from .base import *  # noqa: F403
from .base import BASE_DIR, LOG_LEVEL, cache_settings, channel_layers, database_from_url, env

DEBUG = False
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")


def _required(name: str) -> str:
    value = env(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in production (see README, Configuration).")
    return value


SECRET_KEY = _required("SECRET_KEY")
_required("DATABASE_URL")
DATABASES = {"default": database_from_url(env("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
ALLOWED_HOSTS = [h for h in _required("ALLOWED_HOSTS").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

REDIS_URL = env("REDIS_URL", default="")
CACHES = cache_settings(REDIS_URL)
CHANNEL_LAYERS = channel_layers(REDIS_URL)

LOGGING = logging_config(fmt=env("LOG_FORMAT", default="json"), level=LOG_LEVEL)

# Behind a TLS-terminating load balancer.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
