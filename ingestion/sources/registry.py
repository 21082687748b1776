"""The source adapter for a source name, configured from Django settings at call time.

Settings (environment variables of the same names): META_GRAPH_URL, META_ACCESS_TOKEN,
META_AD_REACHED_COUNTRIES, META_PAGE_LIMIT, META_SNAPSHOT_CONCURRENCY, SERPAPI_URL,
SERPAPI_API_KEY, and the shared SOURCE_BACKOFF_BASE_S, SOURCE_BACKOFF_MAX_S,
SOURCE_MAX_ATTEMPTS, SOURCE_RATE_LIMIT_MAX_ATTEMPTS, SOURCE_CONNECT_TIMEOUT_S,
SOURCE_READ_TIMEOUT_S. Customer feeds are not fetched: they arrive as files
(`ingestion.sources.feed.parse_feed`).
"""

from __future__ import annotations

from django.conf import settings

from .base import AdSource
from .http import RetryPolicy
from .meta import MAX_LIMIT, MetaAdLibrarySource
from .serpapi import GoogleAdsTransparencySource

FETCHED_SOURCES = ("meta", "google")  # sources a run pages through; "feed" comes as a file


class UnknownSource(ValueError):
    pass


def source_for(name: str) -> AdSource:
    """A ready adapter for `name` ("meta" or "google"); raises `UnknownSource` otherwise."""
    policy = RetryPolicy.from_settings()
    if name == "meta":
        return MetaAdLibrarySource(
            graph_url=getattr(settings, "META_GRAPH_URL", "https://graph.facebook.com/v21.0"),
            access_token=getattr(settings, "META_ACCESS_TOKEN", ""),
            countries=tuple(getattr(settings, "META_AD_REACHED_COUNTRIES", ("US",))),
            page_limit=int(getattr(settings, "META_PAGE_LIMIT", MAX_LIMIT)),
            snapshot_concurrency=int(getattr(settings, "META_SNAPSHOT_CONCURRENCY", 8)),
            policy=policy,
        )
    if name == "google":
        return GoogleAdsTransparencySource(
            serpapi_url=getattr(settings, "SERPAPI_URL", "https://serpapi.com"),
            api_key=getattr(settings, "SERPAPI_API_KEY", ""),
            policy=policy,
        )
    if name == "feed":
        raise UnknownSource("Customer feeds are uploaded as files, not fetched: use parse_feed().")
    raise UnknownSource(f"Unknown ad source {name!r}; known: {', '.join(FETCHED_SOURCES)}.")
