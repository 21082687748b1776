"""Settings shared by every mode. Values come from the environment (django-environ).

`local` (the default), `test` and `production` import this module and decide only
what differs: where the database and Redis are, and how strict to be.
"""

from pathlib import Path
from urllib.parse import unquote

import environ

from adology.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = BASE_DIR / ".data"

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default=None)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "brands",
    "ingestion",
    "intelligence",
    "realtime",
    "adology.dashboard",
]

MIDDLEWARE = [
    "adology.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves admin and API-docs assets from any server (gunicorn, uvicorn), no CDN.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "adology.urls"
WSGI_APPLICATION = "adology.wsgi.application"
ASGI_APPLICATION = "adology.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "adology" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "brands.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "dashboard:login"
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".data" / "media")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True

# Media storage: S3 (django-storages) when a bucket is named, local files otherwise.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env("AWS_ENDPOINT_URL", default=None)
STORAGES = {
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage"
        if AWS_STORAGE_BUCKET_NAME
        else "django.core.files.storage.FileSystemStorage",
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REDIS_URL = env("REDIS_URL", default="")

# Realtime (Django Channels): knobs in one module; each mode sets CHANNEL_LAYERS once it
# knows its Redis.
from .realtime import (  # noqa: E402, F401
    CHANNEL_LAYER_PREFIX,
    REALTIME_CHANNEL_LAYER,
    REALTIME_MAX_CLIENT_MESSAGE_BYTES,
    REALTIME_PROGRESS_INTERVAL_SECONDS,
    WEBSOCKET_ALLOWED_ORIGINS,
    channel_layers,
)

CHANNEL_LAYERS = channel_layers(REDIS_URL)
MONGO_URL = env("MONGO_URL", default="mongodb://127.0.0.1:27017/adology")

# --- ingestion pipeline -----------------------------------------------------------------
ACQUIRE_BATCH_SIZE = env.int("ACQUIRE_BATCH_SIZE", default=25)  # items per acquire task
ACQUIRE_CONCURRENCY = env.int("ACQUIRE_CONCURRENCY", default=8)  # downloads at once per task
ACQUIRE_MAX_RETRIES = env.int("ACQUIRE_MAX_RETRIES", default=4)
ACQUIRE_RETRY_BASE_SECONDS = env.float("ACQUIRE_RETRY_BASE_SECONDS", default=2.0)
ACQUIRE_RETRY_CAP_SECONDS = env.float("ACQUIRE_RETRY_CAP_SECONDS", default=60.0)
MEDIA_CONNECT_TIMEOUT = env.float("MEDIA_CONNECT_TIMEOUT", default=5.0)
MEDIA_READ_TIMEOUT = env.float("MEDIA_READ_TIMEOUT", default=30.0)
MEDIA_MAX_IMAGE_BYTES = env.int("MEDIA_MAX_IMAGE_BYTES", default=20 * 1024 * 1024)
MEDIA_MAX_VIDEO_BYTES = env.int("MEDIA_MAX_VIDEO_BYTES", default=300 * 1024 * 1024)
# commit_run waits this long after acquiring began for stragglers, then fails them.
COMMIT_DEADLINE_SECONDS = env.int("COMMIT_DEADLINE_SECONDS", default=3600)
COMMIT_RECHECK_SECONDS = env.float("COMMIT_RECHECK_SECONDS", default=30.0)
RUN_STUCK_AFTER_SECONDS = env.int("RUN_STUCK_AFTER_SECONDS", default=2 * 3600)
RUN_SCHEDULE_INTERVAL_SECONDS = env.int("RUN_SCHEDULE_INTERVAL_SECONDS", default=6 * 3600)
ADOLOGY_AI_PROVIDER = env("ADOLOGY_AI_PROVIDER", default="local")
FEED_MAX_BYTES = env.int("FEED_MAX_BYTES", default=10 * 1024 * 1024)
FEED_MAX_ROWS = env.int("FEED_MAX_ROWS", default=10_000)

# Ad sources (ingestion/sources). Base URLs are configurable so tests and `make run` use
# the local sample server.
META_GRAPH_URL = env("META_GRAPH_URL", default="https://graph.facebook.com/v21.0")
META_ACCESS_TOKEN = env("META_ACCESS_TOKEN", default="")
META_AD_REACHED_COUNTRIES = env.list("META_AD_REACHED_COUNTRIES", default=["US"])
META_PAGE_LIMIT = env.int("META_PAGE_LIMIT", default=500)
META_SNAPSHOT_CONCURRENCY = env.int("META_SNAPSHOT_CONCURRENCY", default=8)
SERPAPI_URL = env("SERPAPI_URL", default="https://serpapi.com")
SERPAPI_API_KEY = env("SERPAPI_API_KEY", default="")
SOURCE_BACKOFF_BASE_S = env.float("SOURCE_BACKOFF_BASE_S", default=1.0)
SOURCE_BACKOFF_MAX_S = env.float("SOURCE_BACKOFF_MAX_S", default=60.0)
SOURCE_MAX_ATTEMPTS = env.int("SOURCE_MAX_ATTEMPTS", default=4)  # 5xx / timeouts
SOURCE_RATE_LIMIT_MAX_ATTEMPTS = env.int("SOURCE_RATE_LIMIT_MAX_ATTEMPTS", default=8)
SOURCE_CONNECT_TIMEOUT_S = env.float("SOURCE_CONNECT_TIMEOUT_S", default=10.0)
SOURCE_READ_TIMEOUT_S = env.float("SOURCE_READ_TIMEOUT_S", default=60.0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "adology.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "adology.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "adology.api.throttling.AnonThrottle",
        "adology.api.throttling.UserThrottle",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "adology.api.pagination.StandardPagination",
    # `format` is a creatives filter (image, video...), not a renderer switch.
    "URL_FORMAT_OVERRIDE": None,
}

# Requests per period, read per request so they can be tuned without a restart of code.
ADOLOGY_THROTTLE_RATES = {
    "anon": env("THROTTLE_ANON", default="60/min"),
    "user": env("THROTTLE_USER", default="1200/min"),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Adology API",
    # The WebSocket events are part of the API: their one document is shown on the docs page.
    "DESCRIPTION": "Ad intelligence: brandspaces, brands, creatives and their ingestion.\n\n"
    + (BASE_DIR / "realtime" / "EVENTS.md").read_text(encoding="utf-8"),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Sidecar assets: the docs page works with no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = logging_config(fmt=env("LOG_FORMAT", default="text"), level=LOG_LEVEL)


def database_from_url(url: str) -> dict:
    """DATABASES entry from a URL; a percent-encoded host is a unix socket directory
    (postgres://user@%2Fpath%2Fto%2Fsocket/db), which django-environ leaves encoded."""
    config = env.db_url_config(url)
    if config.get("HOST", "").startswith("%2F"):
        config["HOST"] = unquote(config["HOST"])
    return config


def cache_settings(redis_url: str) -> dict:
    """Throttling and other shared counters live in Redis when there is one."""
    if redis_url:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
            }
        }
    return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
