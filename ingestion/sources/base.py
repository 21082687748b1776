"""What every ad source yields, and how it says that it cannot go on.

A source pages through one brand's ads and yields `AdRecord`s, all alike whatever the
source, so the pipeline after gather never knows where an ad came from. Rate limits and
other passing trouble are the source's own business (it backs off and continues); a
problem that retrying cannot fix raises `SourceFailed` with a reason a person can act on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from brands.models import Brand


@dataclass(frozen=True)
class AdRecord:
    source: str  # brands.models.Source value: "meta", "google", "feed"
    source_ad_id: str
    format: str  # brands.models.Creative.Format value: image, video, text, carousel
    media_urls: tuple[str, ...] = ()  # in display order; empty for a text ad
    body: str = ""
    title: str = ""
    link_url: str = ""
    call_to_action: str = ""
    platforms: tuple[str, ...] = ()  # lower case: facebook, instagram, youtube, search...
    countries: tuple[str, ...] = ()  # ISO 3166 alpha-2, upper case
    started_running_on: dt.date | None = None
    stopped_running_on: dt.date | None = None
    # The payload as the source gave it, minus secrets (access tokens), for MongoDB raw_ads.
    raw: dict = field(default_factory=dict, compare=False, hash=False)


class SourceFailed(Exception):
    """The source cannot give this brand's ads now, and retrying will not help."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class AdSource(Protocol):
    name: str  # the Source value its records carry

    def fetch(self, brand: Brand, *, since: dt.date | None = None) -> Iterator[AdRecord]:
        """Yield the brand's ads (delivered on or after `since`, when given)."""
        ...


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL: the only kind stored as media or link (never `javascript:`)."""
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
