"""Meta Ad Library: a brand's ads from `GET {META_GRAPH_URL}/ads_archive`.

One call sequence per group of at most 10 of the brand's Meta page ids, following
`paging.next` until it is absent. The API gives a snapshot page per ad, not its media:
each snapshot is fetched (a few at a time) and its image and video URLs are read from
the HTML with `html.parser`:

- media: `<img src>`, `<video src>`, and `<source src>` inside a `<video>`, in page order,
  resolved against the snapshot URL, without duplicates;
- not media: `poster` images, `data:` URIs and other non-http(s) URLs, `<source>` outside a
  video (audio, `<picture>` srcsets: the `<img>` inside a picture is kept), tracking pixels
  (a declared width or height of 1 or less), and small images that are the page's profile
  picture or an icon (declared width and height both at most 64, or a class or alt naming a
  profile picture or an avatar);
- the first http(s) `<a href>` outside facebook.com is the ad's link.

Format: video when the snapshot has a video, carousel with more than one image, image
with one, text with none. When a snapshot cannot be read (after retries for passing
trouble) the ad is still yielded, without media and with `raw["snapshot_error"]` giving
the reason, so the run can count it as a failed item rather than lose the ad.

Errors: codes 4, 17, 32, 613 and 80000-80014 (rate limits), code 2 and `is_transient`
errors, 5xx and timeouts are retried with backoff (`RetryPolicy`); code 1 ("reduce the
amount of data") halves `limit` and asks for the same page again; codes 100 and 190, other
4xx errors, and retries that run out raise `SourceFailed` with the reason. Stored URLs (the
snapshot URL in `raw`) never carry the access token.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

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
    split_query,
    transport_error_reason,
    without_params,
)

logger = logging.getLogger(__name__)

FIELDS = (
    "id",
    "ad_creation_time",
    "ad_creative_bodies",
    "ad_creative_link_titles",
    "ad_creative_link_captions",
    "ad_creative_link_descriptions",
    "ad_delivery_start_time",
    "ad_delivery_stop_time",
    "ad_snapshot_url",
    "page_id",
    "page_name",
    "publisher_platforms",
    "languages",
)
MAX_PAGE_IDS_PER_CALL = 10  # the Ad Library's limit for search_page_ids
MAX_LIMIT = 500
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
REDUCE_DATA_CODE = 1
TRANSIENT_CODES = frozenset({2})
ICON_MAX_PX = 64


class _ReduceData(Exception):
    """Meta code 1: the page asked for is too big to build; ask for a smaller one."""


@dataclass(frozen=True)
class SnapshotMedia:
    videos: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    media: tuple[str, ...] = ()  # videos and images together, in page order
    link_url: str = ""


def _int_attr(value: str | None) -> int | None:
    try:
        return int(str(value).strip().removesuffix("px"))
    except (TypeError, ValueError):
        return None


class _SnapshotParser(HTMLParser):
    def __init__(self, base_url: str):
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.videos: list[str] = []
        self.images: list[str] = []
        self.media: list[str] = []
        self.link_url = ""
        self._in_video = 0

    def _absolute(self, src: str | None) -> str | None:
        if not src or not src.strip():
            return None
        url = urljoin(self.base_url, src.strip())
        return url if is_http_url(url) else None

    def _add(self, bucket: list[str], url: str | None) -> None:
        if url and url not in self.media:
            bucket.append(url)
            self.media.append(url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "video":
            self._in_video += 1
            self._add(self.videos, self._absolute(attr.get("src")))
        elif tag == "source" and self._in_video:
            self._add(self.videos, self._absolute(attr.get("src")))
        elif tag == "img" and not self._is_decoration(attr):
            self._add(self.images, self._absolute(attr.get("src")))
        elif tag == "a" and not self.link_url:
            href = self._absolute(attr.get("href"))
            host = (urlsplit(href).hostname or "") if href else ""
            if href and not (host == "facebook.com" or host.endswith(".facebook.com")):
                self.link_url = href

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "video":
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "video" and self._in_video:
            self._in_video -= 1

    @staticmethod
    def _is_decoration(attr: dict[str, str | None]) -> bool:
        width, height = _int_attr(attr.get("width")), _int_attr(attr.get("height"))
        if (width is not None and width <= 1) or (height is not None and height <= 1):
            return True  # a tracking pixel
        if width is not None and height is not None and width <= ICON_MAX_PX and height <= ICON_MAX_PX:
            return True  # an icon or the page's profile picture
        hints = f"{attr.get('class') or ''} {attr.get('alt') or ''}".lower()
        return any(word in hints for word in ("profile", "avatar"))


def extract_snapshot_media(html: str, *, base_url: str) -> SnapshotMedia:
    """The media and link of one ad snapshot page (see the module docstring for the rules)."""
    parser = _SnapshotParser(base_url)
    parser.feed(html)
    parser.close()
    return SnapshotMedia(
        videos=tuple(parser.videos),
        images=tuple(parser.images),
        media=tuple(parser.media),
        link_url=parser.link_url,
    )


def _date(value: object) -> dt.date | None:
    """A date from Meta's "2024-03-01" or "2024-03-01T10:00:00+0000"."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _first(values: object) -> str:
    if isinstance(values, list):
        return next((v.strip() for v in values if isinstance(v, str) and v.strip()), "")
    return values.strip() if isinstance(values, str) else ""


def _page_ids_param(page_ids: Sequence[str]) -> str:
    # The Graph API reads array parameters as JSON; numeric page ids go as numbers.
    if all(p.isdigit() for p in page_ids):
        return "[" + ",".join(page_ids) + "]"
    return json.dumps(list(page_ids))


class MetaAdLibrarySource:
    name = "meta"

    def __init__(
        self,
        *,
        graph_url: str,
        access_token: str,
        countries: Sequence[str] = ("US",),
        page_limit: int = MAX_LIMIT,
        snapshot_concurrency: int = 8,
        policy: RetryPolicy | None = None,
    ):
        self.graph_url = graph_url.rstrip("/")
        self.access_token = access_token
        self.countries = tuple(c.upper() for c in countries) or ("US",)
        self.page_limit = max(1, min(int(page_limit), MAX_LIMIT))
        self.snapshot_concurrency = max(1, int(snapshot_concurrency))
        self.policy = policy or RetryPolicy()

    def fetch(self, brand: Brand, *, since: dt.date | None = None) -> Iterator[AdRecord]:
        if not self.access_token:
            raise SourceFailed("META_ACCESS_TOKEN is not set: Meta Ad Library cannot be queried without it.")
        page_ids = sorted(brand.identities.filter(source="meta").values_list("external_id", flat=True))
        if not page_ids:
            raise SourceFailed(
                f"Brand {brand.name!r} has no Meta page id: add a 'meta' identity to ingest its Meta ads."
            )
        seen: set[str] = set()
        with (
            new_client(self.policy) as client,
            ThreadPoolExecutor(self.snapshot_concurrency, thread_name_prefix="meta-snapshot") as pool,
        ):
            for start in range(0, len(page_ids), MAX_PAGE_IDS_PER_CALL):
                chunk = page_ids[start : start + MAX_PAGE_IDS_PER_CALL]
                for ads in self._pages(client, chunk, since=since):
                    # Paging can repeat an ad when new ones arrive mid-sequence: yield it once.
                    fresh = []
                    for ad in ads:
                        ad_id = str(ad.get("id", ""))
                        if ad_id and ad_id not in seen:
                            seen.add(ad_id)
                            fresh.append(ad)
                    # Snapshots a few at a time, records in the API's order.
                    futures = [
                        pool.submit(contextvars.copy_context().run, self._record, client, ad) for ad in fresh
                    ]
                    try:
                        for future in futures:
                            yield future.result()
                    finally:
                        # A consumer that stops early (a cancelled run) does not wait for the rest.
                        for future in futures:
                            future.cancel()

    # -- the ads_archive call sequence ---------------------------------------------------

    def _pages(
        self, client: httpx.Client, page_ids: Sequence[str], *, since: dt.date | None
    ) -> Iterator[list]:
        params: dict[str, str] = {
            "search_page_ids": _page_ids_param(page_ids),
            "ad_reached_countries": json.dumps(list(self.countries)),
            "ad_active_status": "ALL",
            "fields": ",".join(FIELDS),
        }
        if since:
            params["ad_delivery_date_min"] = since.isoformat()
        url = f"{self.graph_url}/ads_archive"
        limit = self.page_limit
        page = 1
        while True:
            try:
                payload = self._get_page(client, url, params, limit=limit, page=page)
            except _ReduceData as exc:
                if limit == 1:
                    raise SourceFailed(f"Meta could not return even one ad per page (code 1): {exc}") from exc
                limit = max(1, limit // 2)
                logger.warning(
                    "Meta asked for less data; retrying the page", extra={"limit": limit, "page": page}
                )
                continue
            data = payload.get("data")
            yield data if isinstance(data, list) else []
            next_url = (payload.get("paging") or {}).get("next")
            if not next_url:
                return
            # paging.next carries every parameter and the cursor; keep our (maybe halved) limit.
            url, params = split_query(next_url)
            page += 1

    def _get_page(self, client: httpx.Client, url: str, params: dict, *, limit: int, page: int) -> dict:
        params = {
            **params,
            "limit": str(limit),
            "access_token": params.get("access_token") or self.access_token,
        }

        def attempt() -> dict:
            with external_call("meta", "ads_archive", page=page, limit=limit):
                try:
                    response = client.get(url, params=params)
                except httpx.HTTPError as exc:
                    raise Transient(f"Meta Ad Library {transport_error_reason(exc)}") from exc
                return self._interpret(response)

        return call_with_retries(attempt, policy=self.policy, what="Meta Ad Library")

    @staticmethod
    def _interpret(response: httpx.Response) -> dict:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict):
            code = error.get("code")
            message = str(error.get("message", "")).strip() or "no message"
            if code in RATE_LIMIT_CODES:
                raise RateLimited(
                    f"Meta rate limit (code {code}): {message}", retry_after=retry_after_seconds(response)
                )
            if code == REDUCE_DATA_CODE:
                raise _ReduceData(message)
            if code == 190:
                raise SourceFailed(f"Meta rejected the access token (code 190): {message}")
            if code == 100:
                raise SourceFailed(f"Meta rejected the request as invalid (code 100): {message}")
            if code in TRANSIENT_CODES or error.get("is_transient") or response.status_code >= 500:
                raise Transient(f"Meta error (code {code}, HTTP {response.status_code}): {message}")
            raise SourceFailed(f"Meta Ad Library refused the request (code {code}): {message}")
        if response.status_code == 429:
            raise RateLimited("Meta answered HTTP 429", retry_after=retry_after_seconds(response))
        if response.status_code >= 500:
            raise Transient(f"Meta answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise SourceFailed(f"Meta Ad Library answered HTTP {response.status_code}")
        if not isinstance(payload, dict):
            raise Transient("Meta answered something that is not a JSON object")
        return payload

    # -- one ad ---------------------------------------------------------------------------

    def _record(self, client: httpx.Client, ad: dict) -> AdRecord:
        ad_id = str(ad.get("id", ""))
        snapshot_url = ad.get("ad_snapshot_url") or ""
        raw = dict(ad)
        if snapshot_url:
            raw["ad_snapshot_url"] = without_params(snapshot_url)
        media = SnapshotMedia()
        if snapshot_url:
            try:
                media = self._snapshot(client, snapshot_url, ad_id=ad_id)
            except SourceFailed as exc:
                logger.warning("Meta snapshot unreadable", extra={"ad_id": ad_id, "reason": exc.reason})
                raw["snapshot_error"] = exc.reason
        if media.videos:
            fmt = "video"
        elif len(media.images) > 1:
            fmt = "carousel"
        elif media.images:
            fmt = "image"
        else:
            fmt = "text"
        return AdRecord(
            source=self.name,
            source_ad_id=ad_id,
            format=fmt,
            media_urls=tuple(without_params(url) for url in media.media),
            body=_first(ad.get("ad_creative_bodies")),
            title=_first(ad.get("ad_creative_link_titles")),
            link_url=media.link_url,
            platforms=tuple(
                str(p).lower() for p in (ad.get("publisher_platforms") or []) if isinstance(p, str)
            ),
            # The ad reached at least one of the countries asked for; Meta says no more
            # outside the EU and political ads.
            countries=self.countries,
            started_running_on=_date(ad.get("ad_delivery_start_time")),
            stopped_running_on=_date(ad.get("ad_delivery_stop_time")),
            raw=raw,
        )

    def _snapshot(self, client: httpx.Client, snapshot_url: str, *, ad_id: str) -> SnapshotMedia:
        def attempt() -> SnapshotMedia:
            with external_call("meta", "ad_snapshot", ad_id=ad_id):
                try:
                    response = client.get(snapshot_url)
                except httpx.HTTPError as exc:
                    raise Transient(f"snapshot {transport_error_reason(exc)}") from exc
                if response.status_code == 429:
                    raise RateLimited("snapshot answered HTTP 429", retry_after=retry_after_seconds(response))
                if response.status_code >= 500:
                    raise Transient(f"snapshot answered HTTP {response.status_code}")
                if response.status_code >= 400:
                    raise SourceFailed(f"snapshot answered HTTP {response.status_code}")
            # Resolve relative media against the snapshot's own URL (after redirects), token-free.
            return extract_snapshot_media(response.text, base_url=without_params(str(response.url)))

        return call_with_retries(attempt, policy=self.policy, what=f"Meta snapshot of ad {ad_id}")
