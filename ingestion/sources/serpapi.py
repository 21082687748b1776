"""Google Ads Transparency Center through SerpApi: `GET {SERPAPI_URL}/search.json`.

One call sequence per `google` identity (advertiser id) of the brand, with
`engine=google_ads_transparency_center&num=100`, paging by
`serpapi_pagination.next_page_token` until there is none. Each of `ad_creatives[]` is one
record: its `format` (image, video, text) as given, its `image` (for video and text ads
the image Google renders of the ad) as the media, `link` (the ad's Transparency Center
page) as the link, `first_shown`/`last_shown` (Unix seconds or ISO dates) as the running
dates. An ad last shown today or yesterday counts as still running (no stop date).
Platforms are the creative's own `platform(s)` when SerpApi gives them, else ("google",).

Errors: HTTP 401 (a bad key) raises `SourceFailed`; 429, 5xx and timeouts back off and
retry (`RetryPolicy`); a 200 whose `error` says Google returned no results is an empty
page; any other `error` raises `SourceFailed` with SerpApi's message. The API key is never
stored (it is stripped from every URL kept in `raw`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import httpx

from adology.logging import external_call
from brands.models import Brand

from .base import AdRecord, SourceFailed, is_http_url
from .http import (
    RateLimited,
    RetryPolicy,
    Transient,
    call_with_retries,
    new_client,
    retry_after_seconds,
    transport_error_reason,
    without_params,
)

logger = logging.getLogger(__name__)

ENGINE = "google_ads_transparency_center"
PAGE_SIZE = 100
FORMATS = {"image", "video", "text"}
# How SerpApi says "Google has nothing for this query": an empty page, not a failure.
NO_RESULTS_MARKERS = ("hasn't returned any results", "has not returned any results", "no results")


def _date(value: object) -> dt.date | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.UTC).date()
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _scrub(value: object) -> object:
    """The payload with the API key taken out of every URL in it."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return without_params(value)
    return value


class GoogleAdsTransparencySource:
    name = "google"

    def __init__(self, *, serpapi_url: str, api_key: str, policy: RetryPolicy | None = None):
        self.serpapi_url = serpapi_url.rstrip("/")
        self.api_key = api_key
        self.policy = policy or RetryPolicy()

    def fetch(self, brand: Brand, *, since: dt.date | None = None) -> Iterator[AdRecord]:
        if not self.api_key:
            raise SourceFailed(
                "SERPAPI_API_KEY is not set: Google Ads Transparency cannot be queried without it."
            )
        advertiser_ids = sorted(
            brand.identities.filter(source="google").values_list("external_id", flat=True)
        )
        if not advertiser_ids:
            raise SourceFailed(
                f"Brand {brand.name!r} has no Google advertiser id: add a 'google' identity "
                "to ingest its Google ads."
            )
        seen: set[str] = set()
        today = dt.datetime.now(tz=dt.UTC).date()
        with new_client(self.policy) as client:
            for advertiser_id in advertiser_ids:
                for creatives in self._pages(client, advertiser_id):
                    for item in creatives:
                        record = self._record(item, today=today)
                        if record is None or record.source_ad_id in seen:
                            continue
                        # The API has no date filter: `since` is applied here.
                        if since and record.stopped_running_on and record.stopped_running_on < since:
                            continue
                        seen.add(record.source_ad_id)
                        yield record

    def _pages(self, client: httpx.Client, advertiser_id: str) -> Iterator[list]:
        token = ""
        page = 1
        while True:
            params = {
                "engine": ENGINE,
                "advertiser_id": advertiser_id,
                "api_key": self.api_key,
                "num": PAGE_SIZE,
            }
            if token:
                params["next_page_token"] = token
            payload = self._get_page(client, params, advertiser_id=advertiser_id, page=page)
            creatives = payload.get("ad_creatives")
            yield creatives if isinstance(creatives, list) else []
            token = (payload.get("serpapi_pagination") or {}).get("next_page_token") or ""
            if not token:
                return
            page += 1

    def _get_page(self, client: httpx.Client, params: dict, *, advertiser_id: str, page: int) -> dict:
        url = f"{self.serpapi_url}/search.json"

        def attempt() -> dict:
            with external_call("serpapi", ENGINE, advertiser_id=advertiser_id, page=page):
                try:
                    response = client.get(url, params=params)
                except httpx.HTTPError as exc:
                    raise Transient(f"SerpApi {transport_error_reason(exc)}") from exc
                return self._interpret(response)

        return call_with_retries(attempt, policy=self.policy, what="SerpApi")

    @staticmethod
    def _interpret(response: httpx.Response) -> dict:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        message = str(payload.get("error") or "").strip() if isinstance(payload, dict) else ""
        status = response.status_code
        if status == 401:
            raise SourceFailed(f"SerpApi rejected the API key (HTTP 401): {message or 'no message'}")
        if status == 429:
            raise RateLimited(
                f"SerpApi rate limit (HTTP 429): {message or 'no message'}",
                retry_after=retry_after_seconds(response),
            )
        if status >= 500:
            raise Transient(f"SerpApi answered HTTP {status}")
        if message:
            if status < 400 and any(marker in message.lower() for marker in NO_RESULTS_MARKERS):
                return {}
            raise SourceFailed(f"SerpApi error (HTTP {status}): {message}")
        if status >= 400:
            raise SourceFailed(f"SerpApi answered HTTP {status}")
        if not isinstance(payload, dict):
            raise Transient("SerpApi answered something that is not a JSON object")
        return payload

    def _record(self, item: object, *, today: dt.date) -> AdRecord | None:
        if not isinstance(item, dict) or not item.get("ad_creative_id"):
            logger.warning("SerpApi creative without an id skipped")
            return None
        image = item.get("image") if isinstance(item.get("image"), str) else ""
        media = (image,) if image.startswith(("http://", "https://")) else ()
        fmt = str(item.get("format") or "").lower()
        if fmt not in FORMATS:
            fmt = "image" if media else "text"
        platforms = item.get("platforms") or item.get("platform") or ()
        if isinstance(platforms, str):
            platforms = [p for p in platforms.replace(";", ",").split(",")]
        platforms = tuple(str(p).strip().lower() for p in platforms if str(p).strip()) or ("google",)
        last_shown = _date(item.get("last_shown"))
        still_running = last_shown is None or last_shown >= today - dt.timedelta(days=1)
        return AdRecord(
            source=self.name,
            source_ad_id=str(item["ad_creative_id"]),
            format=fmt,
            media_urls=media,
            link_url=link if is_http_url(link := str(item.get("link") or "")) else "",
            platforms=platforms,
            started_running_on=_date(item.get("first_shown")),
            stopped_running_on=None if still_running else last_shown,
            raw=_scrub(item),
        )
