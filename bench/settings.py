"""Settings for benchmarks: the test settings, on a database of their own.

The PostgreSQL server is the one the test settings pick (DATABASE_URL, else 127.0.0.1:5432,
else the embedded one), but the database is `adology_bench`, so a benchmark never touches
dev or test data. Connections persist between requests as they do in production.
"""

from adology.settings.test import *  # noqa: F403
from adology.settings.test import CACHES, DATABASES

BENCH_DATABASE_NAME = "adology_bench"

DATABASES = {"default": {**DATABASES["default"], "NAME": BENCH_DATABASE_NAME}}
# As in adology.settings.production: one connection per worker thread, kept between requests.
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": "adology-bench"}}

ROOT_URLCONF = "bench.urls"
DEBUG = False
