"""Local development, the default: needs no outside service.

With DATABASE_URL unset, an embedded PostgreSQL starts with its data under `.data/`.
With REDIS_URL unset, caches are in-process.
"""

from adology.embedded import embedded_postgres

from .base import *  # noqa: F403
from .base import DATA_DIR, cache_settings, channel_layers, database_from_url, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

if env("DATABASE_URL", default=""):
    DATABASES = {"default": database_from_url(env("DATABASE_URL"))}
else:
    DATABASES = {"default": embedded_postgres(DATA_DIR / "pg", database="adology")}

REDIS_URL = env("REDIS_URL", default="")

# The sample source (python -m ingestion.sources.sample, started by `make run`) stands in
# for Meta and SerpApi locally.
META_GRAPH_URL = env("META_GRAPH_URL", default="http://127.0.0.1:8765")
META_ACCESS_TOKEN = env("META_ACCESS_TOKEN", default="sample-meta-token")
SERPAPI_URL = env("SERPAPI_URL", default="http://127.0.0.1:8765")
SERPAPI_API_KEY = env("SERPAPI_API_KEY", default="sample-serpapi-key")
CACHES = cache_settings(REDIS_URL)
CHANNEL_LAYERS = channel_layers(REDIS_URL)

# Serve static files straight from the apps in development (no collectstatic step).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
