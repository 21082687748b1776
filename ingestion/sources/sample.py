"""Sample ads over local HTTP, so `make run` and the tests run the real source adapters offline.

`start_sample_server()` starts, in a background thread, a server on 127.0.0.1 that speaks:

- the Meta Ad Library: `GET /ads_archive` (any path ending so, e.g. `/v21.0/ads_archive`)
  in the Graph API's shape, honouring `access_token`, `search_page_ids` (at most 10),
  `ad_reached_countries` (required), `ad_delivery_date_min`, `fields`, `limit` and the
  `after` cursor, with `paging.next`; and the snapshot pages its `ad_snapshot_url`s name
  (`/ads/archive/render_ad/?id=...&access_token=...`);
- SerpApi's Google Ads Transparency Center: `GET /search.json?engine=google_ads_transparency_center`
  with `api_key`, `advertiser_id`, `num` and `next_page_token`;
- the media: PNG and JPEG images drawn on demand with Pillow (coloured shapes and a text
  line), deterministic for a seed, under `/media/...`.

Point the adapters at it with META_GRAPH_URL = SERPAPI_URL = the base URL, META_ACCESS_TOKEN =
`SAMPLE_ACCESS_TOKEN`, SERPAPI_API_KEY = `SAMPLE_API_KEY`. Any page id or advertiser id
gets ads (the demo brands' names are used when Django's apps are loaded). It never
touches the internet. From a shell: `python -m ingestion.sources.sample --port 8765`.

The ads of one page come in groups of six, so the pipeline meets what real libraries hold:
an original image ad; a near-duplicate of it (the same picture resized and re-encoded);
a variant with the same text and another picture; a variant with the same picture (the
same URL) and other text; a carousel of three pictures; a text-only ad. About a third of
the ads have stopped running.

Faults, for tests (`server.faults`, thread-safe; each applies to the requests that follow):
- `inject_graph_error(code=17, times=1, skip=0)`: after `skip` more `/ads_archive` requests,
  answer `times` of them with that Graph error (17 rate limit, 1 reduce data, 190 token, 100...);
- `max_limit = N`: an `/ads_archive` request asking for more than N ads answers code 1;
- `inject_serpapi_status(429, times=1, skip=0, error=None)`: the same for `/search.json`;
- `snapshots[ad_id] = "404" | "500" | "timeout"`: that ad's snapshot page fails so;
- `no_results.add(advertiser_id)`: SerpApi answers Google's "no results" error for it;
- `media[path] = "404" | "403" | "500" | "timeout" | "html" | "big"`, or `?fault=...` on a media
  URL: the media answers that status, stalls `timeout_s` seconds before answering, answers an
  HTML page with status 200, or streams `big_bytes` of JPEG-headed bytes.
`server.requests` lists every request as (path, query dict), for tests to check what was asked.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import functools
import hashlib
import html
import io
import json
import logging
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

SAMPLE_ACCESS_TOKEN = "sample-meta-token"
SAMPLE_API_KEY = "sample-serpapi-key"
DEFAULT_ADS_PER_BRAND = 12
DEFAULT_PAGE_SIZE = 5
META_FIELDS = frozenset(
    {
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
    }
)

HEADLINES = [
    "Summer sale: 20% off tents",
    "New ultralight backpacks",
    "Free shipping over $50",
    "The trail collection is here",
    "Rain jackets from $89",
    "Save 30% on hiking boots",
    "Camp kitchen essentials",
    "Limited edition headlamps",
    "Buy one, get one 50% off socks",
    "Sleeping bags rated to -10C",
]
BODIES = [
    "Gear up for your next adventure. Shop now and save.",
    "Built for the long haul and tested on real trails. Learn more.",
    "Everything you need for the weekend, in one order. Order today!",
    "Lighter packs, longer days. Discover the new range.",
    "Our biggest sale of the season ends Sunday. Shop now.",
    "Waterproof, windproof, worry-proof. Get yours today.",
]
CTAS = ["Shop now", "Learn more", "Order now", "Sign up"]
PALETTE = [
    (34, 87, 122),
    (56, 163, 165),
    (87, 204, 153),
    (128, 237, 153),
    (199, 249, 204),
    (255, 183, 3),
    (251, 133, 0),
    (220, 47, 2),
    (157, 2, 8),
    (106, 4, 15),
    (61, 64, 91),
    (242, 204, 143),
]
# "/media/<owner>/m<motif>-<w>x<h>[-q<quality>].<jpg|png>"
MEDIA_PATH = re.compile(
    r"^/media/(?P<owner>[\w.-]+)/m(?P<motif>\d+)-(?P<w>\d+)x(?P<h>\d+)(?:-q(?P<q>\d+))?\.(?P<ext>jpg|png)$"
)


# -- the ads ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleAd:
    id: str
    owner_id: str  # Meta page id or Google advertiser id
    owner_name: str
    kind: str  # original, near-duplicate, same-text, same-image, carousel, text
    body: str
    title: str
    caption: str
    description: str
    call_to_action: str
    link: str
    media: tuple[str, ...]  # server paths, "/media/..."
    start: dt.date
    stop: dt.date | None
    created: dt.datetime
    platforms: tuple[str, ...]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "sample"


def _number(*parts: object, digits: int) -> int:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()
    return int(digest, 16) % 10**digits


def image_path(
    owner_id: str,
    motif: int,
    *,
    width: int = 1080,
    height: int = 1080,
    quality: int | None = None,
    ext: str = "jpg",
) -> str:
    suffix = f"-q{quality}" if quality and ext == "jpg" else ""
    return f"/media/{owner_id}/m{motif}-{width}x{height}{suffix}.{ext}"


def sample_ads(
    owner_id: str,
    *,
    count: int = DEFAULT_ADS_PER_BRAND,
    seed: int = 0,
    owner_name: str = "",
    today: dt.date | None = None,
) -> list[SampleAd]:
    """The same ads for the same arguments, newest first (as the Ad Library lists them)."""
    today = today or dt.date.today()
    name = owner_name or f"Sample Brand {owner_id[-4:]}"
    domain = f"{_slug(name)}.example"
    rng = random.Random(f"{seed}:{owner_id}")
    prefix = _number(seed, owner_id, digits=9)
    ads = []
    for index in range(count):
        group, kind_index = divmod(index, 6)
        motif = group * 5
        text_index = group * 3
        headline = HEADLINES[text_index % len(HEADLINES)]
        body = BODIES[text_index % len(BODIES)]
        kind = ["original", "near-duplicate", "same-text", "same-image", "carousel", "text"][kind_index]
        if kind == "original":
            media = (image_path(owner_id, motif, quality=90),)
        elif kind == "near-duplicate":
            media = (image_path(owner_id, motif, width=600, height=600, quality=70),)
        elif kind == "same-text":
            media = (image_path(owner_id, motif + 1, quality=90),)
        elif kind == "same-image":
            media = (image_path(owner_id, motif, quality=90),)
            headline = HEADLINES[(text_index + 1) % len(HEADLINES)]
            body = BODIES[(text_index + 1) % len(BODIES)]
        elif kind == "carousel":
            media = tuple(image_path(owner_id, motif + k, ext="png") for k in (2, 3, 4))
            headline = HEADLINES[(text_index + 2) % len(HEADLINES)]
            body = BODIES[(text_index + 2) % len(BODIES)]
        else:
            media = ()
            headline = HEADLINES[(text_index + 2) % len(HEADLINES)]
            body = BODIES[(text_index + 3) % len(BODIES)]
        # Newest first: ads further down the list started earlier.
        start = today - dt.timedelta(days=3 + index * 4 + rng.randint(0, 3))
        stop = None
        if rng.random() < 0.33:
            stop = min(today - dt.timedelta(days=3), start + dt.timedelta(days=rng.randint(3, 30)))
        ads.append(
            SampleAd(
                id=f"{prefix}{index:06d}",
                owner_id=owner_id,
                owner_name=name,
                kind=kind,
                body=f"{body} {headline}." if kind == "text" else body,
                title=headline,
                caption=domain.upper(),
                description=f"{name}: outdoor gear since 1998",
                call_to_action=CTAS[index % len(CTAS)],
                link=f"https://{domain}/offers/{index}",
                media=media,
                start=start,
                stop=stop,
                created=dt.datetime.combine(start, dt.time(9, 0), tzinfo=dt.UTC),
                platforms=("facebook", "instagram") if index % 3 else ("facebook", "instagram", "messenger"),
            )
        )
    return ads


def demo_page_names() -> dict[str, str]:
    """Demo brands' names by Meta page id and Google advertiser id, when Django is loaded."""
    try:
        from django.apps import apps

        if not apps.ready:
            return {}
        from brands.demo import DEMO_BRANDS
    except Exception:  # no Django here: generic names will do
        return {}
    names = {}
    for name, _, _, page_id, advertiser_id in DEMO_BRANDS:
        names[page_id] = names[advertiser_id] = name
    return names


# -- the images -------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def render_image(
    owner_id: str, motif: int, width: int, height: int, ext: str, quality: int, seed: int, label: str
) -> bytes:
    """One picture, the same bytes for the same arguments; sizes of one motif look alike."""
    rng = random.Random(f"{seed}:{owner_id}:{motif}")
    base = 800
    canvas = Image.new("RGB", (base, base), rng.choice(PALETTE))
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.randint(4, 7)):
        colour = rng.choice(PALETTE)
        x0, y0 = rng.randint(0, base - 200), rng.randint(0, base - 200)
        x1, y1 = x0 + rng.randint(80, 400), y0 + rng.randint(80, 400)
        shape = rng.choice(("ellipse", "rectangle", "triangle"))
        if shape == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=colour)
    try:
        font = ImageFont.load_default(size=44)
    except (TypeError, OSError):  # a Pillow without FreeType: the small bitmap font
        font = ImageFont.load_default()
    draw.rectangle((0, base - 150, base, base), fill=(20, 20, 20))
    draw.text((30, base - 130), label[:30], fill=(255, 255, 255), font=font)
    draw.text((30, base - 70), f"#{motif}", fill=(255, 210, 0), font=font)
    picture = canvas
    if (width, height) != (base, base):
        picture = canvas.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if ext == "png":
        picture.save(out, format="PNG", optimize=False)
    else:
        picture.save(out, format="JPEG", quality=quality)
    return out.getvalue()


@functools.lru_cache(maxsize=64)
def render_profile(owner_id: str) -> bytes:
    colour = PALETTE[_number(owner_id, digits=4) % len(PALETTE)]
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, format="PNG")
    return out.getvalue()


PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


# -- faults -----------------------------------------------------------------------------


@dataclass
class SampleFaults:
    max_limit: int | None = None
    timeout_s: float = 5.0
    big_bytes: int = 25 * 1024 * 1024
    media: dict[str, str] = field(default_factory=dict)
    snapshots: dict[str, str] = field(default_factory=dict)
    no_results: set[str] = field(default_factory=set)
    _graph: deque = field(default_factory=deque)
    _serpapi: deque = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def inject_graph_error(
        self,
        code: int = 17,
        *,
        times: int = 1,
        skip: int = 0,
        http_status: int | None = None,
        message: str = "",
    ) -> None:
        status = http_status or (500 if code in (1, 2) else 400)
        message = message or GRAPH_MESSAGES.get(code, f"Sample error {code}")
        with self._lock:
            self._graph.extend([None] * skip + [(status, code, message)] * times)

    def inject_serpapi_status(
        self, status: int = 429, *, times: int = 1, skip: int = 0, error: str = ""
    ) -> None:
        error = error or SERPAPI_MESSAGES.get(status, f"Sample error {status}")
        with self._lock:
            self._serpapi.extend([None] * skip + [(status, error)] * times)

    def next_graph_fault(self):
        with self._lock:
            return self._graph.popleft() if self._graph else None

    def next_serpapi_fault(self):
        with self._lock:
            return self._serpapi.popleft() if self._serpapi else None


GRAPH_MESSAGES = {
    1: "Please reduce the amount of data you're asking for, then retry your request",
    2: "An unexpected error has occurred. Please retry your request later.",
    4: "Application request limit reached",
    17: "User request limit reached",
    100: "(#100) Invalid parameter",
    190: "Invalid OAuth access token - Cannot parse access token",
    613: "Calls to this api have exceeded the rate limit.",
}
GRAPH_TYPES = {190: "OAuthException", 100: "OAuthException"}
SERPAPI_MESSAGES = {
    401: "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key",
    429: "Your account has run out of searches.",
    500: "Internal error.",
}
NO_RESULTS = "Google Ads Transparency Center hasn't returned any results for this query."


# -- the server -------------------------------------------------------------------------


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return max(0, int(text.removeprefix("offset:")))
    except (ValueError, UnicodeDecodeError):
        return 0


def _id_list(value: str) -> list[str]:
    value = value.strip()
    if value.startswith("["):
        try:
            return [str(v) for v in json.loads(value)]
        except ValueError:
            pass
    return [v.strip().strip("'\"") for v in value.strip("[]").split(",") if v.strip().strip("'\"")]


class SampleServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        ads_per_brand: int = DEFAULT_ADS_PER_BRAND,
        page_size: int | None = DEFAULT_PAGE_SIZE,
        latency_s: float = 0.0,
        seed: int = 0,
        access_token: str = SAMPLE_ACCESS_TOKEN,
        api_key: str = SAMPLE_API_KEY,
        today: dt.date | None = None,
        names: dict[str, str] | None = None,
    ):
        super().__init__(address, _Handler)
        self.ads_per_brand = ads_per_brand
        self.page_size = page_size
        self.latency_s = latency_s
        self.seed = seed
        self.access_token = access_token
        self.api_key = api_key
        self.today = today
        self.names = demo_page_names() if names is None else names
        self.faults = SampleFaults()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._ads_by_id: dict[str, SampleAd] = {}
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def ads_for(self, owner_id: str) -> list[SampleAd]:
        ads = sample_ads(
            owner_id,
            count=self.ads_per_brand,
            seed=self.seed,
            owner_name=self.names.get(owner_id, ""),
            today=self.today,
        )
        with self._lock:
            self._ads_by_id.update((ad.id, ad) for ad in ads)
        return ads

    def ad(self, ad_id: str) -> SampleAd | None:
        with self._lock:
            return self._ads_by_id.get(ad_id)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: SampleServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's algorithm and
    # delayed ACKs add ~40 ms to every keep-alive answer.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args) -> None:
        logger.debug("sample server: " + format, *args)

    # -- plumbing

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

    def _graph_error(self, status: int, code: int, message: str) -> None:
        self._json(
            status,
            {
                "error": {
                    "message": message,
                    "type": GRAPH_TYPES.get(code, "GraphMethodException"),
                    "code": code,
                    "fbtrace_id": "SampleTrace" + str(code),
                }
            },
        )

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.server.requests.append((parts.path, query))
        if self.server.latency_s:
            time.sleep(self.server.latency_s)
        try:
            if parts.path.endswith("/ads_archive"):
                self._ads_archive(query)
            elif parts.path.rstrip("/") == "/ads/archive/render_ad":
                self._snapshot(query)
            elif parts.path == "/search.json":
                self._serpapi(query)
            elif parts.path.startswith("/media/") or parts.path == "/tr":
                self._media(parts.path, query)
            else:
                self._send(404, b"not found", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    # -- Meta

    def _ads_archive(self, query: dict[str, str]) -> None:
        server = self.server
        if query.get("access_token") != server.access_token:
            return self._graph_error(400, 190, GRAPH_MESSAGES[190])
        fault = server.faults.next_graph_fault()
        if fault:
            return self._graph_error(*fault)
        if not query.get("ad_reached_countries"):
            return self._graph_error(400, 100, "(#100) The parameter ad_reached_countries is required")
        page_ids = _id_list(query.get("search_page_ids", ""))
        if not page_ids:
            return self._graph_error(400, 100, "(#100) search_page_ids or search_terms is required")
        if len(page_ids) > 10:
            return self._graph_error(400, 100, "(#100) search_page_ids accepts at most 10 ids")
        fields = [f for f in query.get("fields", "id").split(",") if f]
        unknown = [f for f in fields if f not in META_FIELDS]
        if unknown:
            return self._graph_error(400, 100, f"(#100) Tried accessing nonexisting field ({unknown[0]})")
        try:
            limit = int(query.get("limit", "25"))
        except ValueError:
            return self._graph_error(400, 100, "(#100) Param limit must be an integer")
        if server.faults.max_limit is not None and limit > server.faults.max_limit:
            return self._graph_error(500, 1, GRAPH_MESSAGES[1])
        since = None
        if query.get("ad_delivery_date_min"):
            try:
                since = dt.date.fromisoformat(query["ad_delivery_date_min"])
            except ValueError:
                return self._graph_error(400, 100, "(#100) ad_delivery_date_min must be a date")
        ads = [
            ad
            for page_id in page_ids
            for ad in server.ads_for(page_id)
            if since is None or ad.stop is None or ad.stop >= since
        ]
        offset = _offset(query.get("after", ""))
        size = min(limit, server.page_size) if server.page_size else limit
        page = ads[offset : offset + size]
        payload: dict = {"data": [self._meta_ad(ad, fields) for ad in page]}
        if page:
            payload["paging"] = {"cursors": {"before": _cursor(offset), "after": _cursor(offset + len(page))}}
            if offset + len(page) < len(ads):
                next_query = {**query, "after": _cursor(offset + len(page))}
                path = urlsplit(self.path).path
                payload["paging"]["next"] = f"{server.base_url}{path}?{urlencode(next_query)}"
        self._json(200, payload)

    def _meta_ad(self, ad: SampleAd, fields: list[str]) -> dict:
        snapshot = f"{self.server.base_url}/ads/archive/render_ad/?" + urlencode(
            {"id": ad.id, "access_token": self.server.access_token}
        )
        full = {
            "id": ad.id,
            "ad_creation_time": ad.created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "ad_creative_bodies": [ad.body],
            "ad_creative_link_titles": [ad.title],
            "ad_creative_link_captions": [ad.caption],
            "ad_creative_link_descriptions": [ad.description],
            "ad_delivery_start_time": ad.start.isoformat(),
            "ad_delivery_stop_time": ad.stop.isoformat() if ad.stop else None,
            "ad_snapshot_url": snapshot,
            "page_id": ad.owner_id,
            "page_name": ad.owner_name,
            "publisher_platforms": list(ad.platforms),
            "languages": ["en"],
        }
        return {f: full[f] for f in fields if full.get(f) is not None}

    def _snapshot(self, query: dict[str, str]) -> None:
        if query.get("access_token") != self.server.access_token:
            return self._send(403, b"<html><body>This content isn't available</body></html>", "text/html")
        fault = self.server.faults.snapshots.get(query.get("id", ""))
        if fault == "timeout":
            time.sleep(self.server.faults.timeout_s)
        elif fault:
            return self._send(int(fault), b"<html><body>Something went wrong</body></html>", "text/html")
        ad = self.server.ad(query.get("id", ""))
        if ad is None:
            return self._send(404, b"<html><body>Ad not found</body></html>", "text/html")
        esc = html.escape
        media = "\n".join(f'<div class="media"><img src="{esc(path)}" alt=""></div>' for path in ad.media)
        page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{esc(ad.owner_name)} - Ad Library</title></head>
<body>
<div class="header"><img class="_8nqq page-profile" src="/media/{esc(ad.owner_id)}/profile.png"
  width="40" height="40" alt="{esc(ad.owner_name)} profile picture">
  <strong>{esc(ad.owner_name)}</strong> Sponsored</div>
<div class="body">{esc(ad.body)}</div>
{media}
<a class="link" href="{esc(ad.link)}"><div class="caption">{esc(ad.caption)}</div>
<div class="title">{esc(ad.title)}</div><div class="description">{esc(ad.description)}</div>
<div class="cta">{esc(ad.call_to_action)}</div></a>
<img src="/tr?ad={esc(ad.id)}" width="1" height="1" alt="">
<img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7" alt="">
</body></html>
"""
        self._send(200, page.encode(), "text/html; charset=utf-8")

    # -- SerpApi

    def _serpapi(self, query: dict[str, str]) -> None:
        server = self.server
        if query.get("api_key") != server.api_key:
            return self._json(401, {"error": SERPAPI_MESSAGES[401]})
        fault = server.faults.next_serpapi_fault()
        if fault:
            status, error = fault
            return self._json(status, {"error": error})
        if query.get("engine") != "google_ads_transparency_center":
            return self._json(400, {"error": "Unsupported `engine` parameter."})
        advertiser_id = query.get("advertiser_id", "")
        if not advertiser_id:
            return self._json(400, {"error": "Missing query `advertiser_id` or `text` parameter."})
        metadata = {
            "search_metadata": {"status": "Success"},
            "search_parameters": {"engine": query["engine"], "advertiser_id": advertiser_id},
        }
        if advertiser_id in server.faults.no_results:
            return self._json(200, {**metadata, "error": NO_RESULTS})
        try:
            num = max(1, min(100, int(query.get("num", "40"))))
        except ValueError:
            return self._json(400, {"error": "Invalid `num` parameter."})
        ads = server.ads_for(advertiser_id)
        offset = _offset(query.get("next_page_token", ""))
        size = min(num, server.page_size) if server.page_size else num
        page = ads[offset : offset + size]
        payload = {**metadata, "ad_creatives": [self._google_ad(ad) for ad in page]}
        if offset + len(page) < len(ads):
            token = _cursor(offset + len(page))
            payload["serpapi_pagination"] = {
                "next_page_token": token,
                "next": f"{server.base_url}/search.json?"
                + urlencode({k: v for k, v in {**query, "next_page_token": token}.items() if k != "api_key"}),
            }
        self._json(200, payload)

    def _google_ad(self, ad: SampleAd) -> dict:
        base = self.server.base_url
        fmt = "text" if not ad.media else ("video" if ad.kind == "same-text" else "image")
        # A text ad's "image" is the picture Google renders of it.
        rendered = image_path(ad.owner_id, 900 + int(ad.id[-3:]), width=380, height=248, ext="png")
        image = ad.media[0] if ad.media else rendered
        last = ad.stop or (self.server.today or dt.date.today())
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        seconds = lambda d: int((dt.datetime.combine(d, dt.time(), tzinfo=dt.UTC) - epoch).total_seconds())  # noqa: E731
        return {
            "advertiser_id": ad.owner_id,
            "advertiser": ad.owner_name,
            "ad_creative_id": f"CR{ad.id}",
            "format": fmt,
            "image": f"{base}{image}",
            "width": 1080 if ad.media else 380,
            "height": 1080 if ad.media else 248,
            "target_domain": ad.caption.lower(),
            "link": f"https://adstransparency.google.com/advertiser/{ad.owner_id}/creative/CR{ad.id}",
            "first_shown": seconds(ad.start),
            "last_shown": seconds(last),
            "total_days_shown": (last - ad.start).days + 1,
            "details_link": f"{base}/search.json?"
            + urlencode({"engine": "google_ads_transparency_center_ad_details", "creative_id": f"CR{ad.id}"}),
        }

    # -- media

    def _media(self, path: str, query: dict[str, str]) -> None:
        server = self.server
        fault = query.get("fault") or server.faults.media.get(path)
        if fault in ("404", "403", "500", "503"):
            return self._send(int(fault), b"no such media", "text/plain")
        if fault == "html":
            return self._send(200, b"<!DOCTYPE html><html><body>Log in</body></html>", "text/html")
        if fault == "timeout":
            time.sleep(server.faults.timeout_s)
        if fault == "big":
            return self._stream_big(server.faults.big_bytes)
        if path == "/tr":
            return self._send(200, PIXEL_GIF, "image/gif")
        match = MEDIA_PATH.match(path)
        if match:
            owner, ext = match["owner"], match["ext"]
            width, height = int(match["w"]), int(match["h"])
            if not (16 <= width <= 4000 and 16 <= height <= 4000):
                return self._send(404, b"no such media", "text/plain")
            label = server.names.get(owner) or f"Sample Brand {owner[-4:]}"
            quality = int(match["q"] or 85)
            body = render_image(owner, int(match["motif"]), width, height, ext, quality, server.seed, label)
            return self._send(200, body, "image/png" if ext == "png" else "image/jpeg")
        if path.endswith("/profile.png"):
            return self._send(200, render_profile(path.split("/")[2]), "image/png")
        self._send(404, b"no such media", "text/plain")

    def _stream_big(self, size: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b"\xff\xd8\xff\xe0" + b"\0" * (64 * 1024 - 4)
        sent = 0
        while sent < size:
            part = chunk[: min(len(chunk), size - sent)]
            self.wfile.write(part)
            sent += len(part)
            chunk = b"\0" * len(chunk)


def start_sample_server(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ads_per_brand: int = DEFAULT_ADS_PER_BRAND,
    page_size: int | None = DEFAULT_PAGE_SIZE,
    latency_s: float = 0.0,
    seed: int = 0,
    today: dt.date | None = None,
    names: dict[str, str] | None = None,
) -> tuple[SampleServer, str]:
    """Start the sample server in a daemon thread; stop it with `server.stop()`."""
    server = SampleServer(
        (host, port),
        ads_per_brand=ads_per_brand,
        page_size=page_size,
        latency_s=latency_s,
        seed=seed,
        today=today,
        names=names,
    )
    # A short poll interval makes `stop()` quick (shutdown waits for the next poll).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sample-source", daemon=True
    )
    thread.start()
    return server, server.base_url


def _setup_django_for_names() -> None:
    """Load just enough Django to read the demo brands' names (no database is touched)."""
    try:
        import django
        from django.conf import settings

        if not settings.configured:
            settings.configure(
                INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "brands"],
                AUTH_USER_MODEL="brands.User",
            )
        django.setup()
    except Exception:
        logger.info("Django not available: sample brands get generic names")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve sample ads shaped like Meta Ad Library and SerpApi.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--ads-per-brand", type=int, default=DEFAULT_ADS_PER_BRAND)
    parser.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sample-source %(message)s")
    _setup_django_for_names()
    server = SampleServer(
        (args.host, args.port),
        ads_per_brand=args.ads_per_brand,
        page_size=args.page_size,
        latency_s=args.latency,
        seed=args.seed,
    )
    logger.info(
        "Sample ad source on %s (META_GRAPH_URL=SERPAPI_URL=%s, META_ACCESS_TOKEN=%s, SERPAPI_API_KEY=%s)",
        server.base_url,
        server.base_url,
        SAMPLE_ACCESS_TOKEN,
        SAMPLE_API_KEY,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
