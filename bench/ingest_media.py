"""The outside world of the ingestion benchmark: a Meta Ad Library and its media, over local HTTP.

    .venv/bin/python bench/ingest_media.py --port 8766 --latency-ms 50 --image-kb 200

A page id of 7 digits or more has as many ads as its last 6 digits say (`12340001000`: 1,000
ads), so every run can name a fresh page of the size it wants; shorter ids have `--ads` ads.
Each ad has exactly one image:
- `GET /ads_archive`: the Graph API's shape (the fields the Meta adapter asks for), `limit`
  honoured (at most 500), `after` cursors and `paging.next`;
- `GET /ads/archive/render_ad/?id=…`: the ad's snapshot page, one `<img>` and a link;
- `GET /media/<page id>/<n>.jpg`: a 1080x1080 JPEG of about `--image-kb` KB, answered after
  `--latency-ms` (the latency a CDN far away adds). The pixels come from a few base pictures;
  a JPEG comment naming the page and the ad makes every image's bytes (so its sha256 and its
  S3 key) unique, so a run never finds its media already archived by an earlier one.

Only media requests wait `--latency-ms`; the Graph API and snapshot pages wait
`--api-latency-ms` (default 0), so the acquire phase is what the latency measures.
It runs in its own process so that serving images does not share a GIL with the benchmark.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ACCESS_TOKEN = "bench-meta-token"
BASE_IMAGES = 8
MEDIA = re.compile(r"^/media/(?P<page>\w+)/(?P<n>\d+)\.jpg$")


def base_images(target_kb: int, count: int = BASE_IMAGES) -> list[bytes]:
    """`count` different 1080x1080 JPEGs close to `target_kb` KB: shapes, text and sensor-like noise."""
    import numpy as np
    from PIL import Image

    from ingestion.sources.sample import render_image

    images = []
    for motif in range(count):
        drawn = render_image("bench", motif * 5, 1080, 1080, "jpg", 95, 0, "Bench Outdoor Co")
        pixels = np.asarray(Image.open(io.BytesIO(drawn)).convert("RGB"), dtype=np.int16)
        noisy = np.random.default_rng(motif).normal(0, 10, pixels.shape)
        picture = Image.fromarray(np.clip(pixels + noisy, 0, 255).astype(np.uint8))
        best = b""
        for quality in range(60, 96, 3):  # the quality whose size is nearest the target
            out = io.BytesIO()
            picture.save(out, "JPEG", quality=quality)
            if not best or abs(len(out.getvalue()) - target_kb * 1024) < abs(len(best) - target_kb * 1024):
                best = out.getvalue()
        images.append(best)
    return images


def tagged(jpeg: bytes, tag: str) -> bytes:
    """The same picture with a COM segment after SOI: other bytes, same pixels."""
    payload = tag.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("offset:"))
    except ValueError:
        return 0


class BenchServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, *, ads: int, latency_s: float, api_latency_s: float, images: list[bytes]):
        super().__init__(address, Handler)
        self.ads = ads
        self.latency_s = latency_s
        self.api_latency_s = api_latency_s
        self.images = images

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class Handler(BaseHTTPRequestHandler):
    server: BenchServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms Nagle stall

    def log_message(self, format, *args):
        pass

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        try:
            if parts.path.startswith("/media/"):
                time.sleep(self.server.latency_s)
                self._media(parts.path)
            elif parts.path.endswith("/ads_archive"):
                time.sleep(self.server.api_latency_s)
                self._ads_archive(parts.path, query)
            elif parts.path.rstrip("/") == "/ads/archive/render_ad":
                time.sleep(self.server.api_latency_s)
                self._snapshot(query)
            else:
                self._send(404, b"not found", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _media(self, path: str) -> None:
        match = MEDIA.match(path)
        if not match:
            return self._send(404, b"no such media", "text/plain")
        n = int(match["n"])
        body = tagged(self.server.images[n % len(self.server.images)], f"bench {match['page']}/{n}")
        self._send(200, body, "image/jpeg")

    def _ads_archive(self, path: str, query: dict) -> None:
        if query.get("access_token") != ACCESS_TOKEN:
            return self._json(400, {"error": {"code": 190, "message": "Invalid OAuth access token"}})
        page_ids = [
            p.strip("'\" ") for p in query.get("search_page_ids", "").strip("[]").split(",") if p.strip()
        ]
        limit = min(500, int(query.get("limit", "25")))
        offset = _offset(query.get("after", ""))
        ads = [(page, n) for page in page_ids for n in range(self._count(page))]
        page = ads[offset : offset + limit]
        payload: dict = {"data": [self._ad(page_id, n) for page_id, n in page]}
        if offset + len(page) < len(ads):
            after = _cursor(offset + len(page))
            payload["paging"] = {
                "cursors": {"after": after},
                "next": f"{self.server.base_url}{path}?{urlencode({**query, 'after': after})}",
            }
        self._json(200, payload)

    def _count(self, page_id: str) -> int:
        return int(page_id[-6:]) if len(page_id) >= 7 and page_id.isdigit() else self.server.ads

    def _ad(self, page_id: str, n: int) -> dict:
        ad_id = f"{page_id}{n:06d}"
        snapshot = f"{self.server.base_url}/ads/archive/render_ad/?" + urlencode(
            {"id": ad_id, "access_token": ACCESS_TOKEN}
        )
        return {
            "id": ad_id,
            "ad_creation_time": "2026-10-01T09:00:00+0000",
            "ad_creative_bodies": [f"Gear up for your next adventure. Shop now and save {n % 50}%!"],
            "ad_creative_link_titles": [f"Trail collection #{n}"],
            "ad_creative_link_captions": ["BENCH-OUTDOOR.EXAMPLE"],
            "ad_delivery_start_time": "2026-10-01",
            "ad_snapshot_url": snapshot,
            "page_id": page_id,
            "page_name": "Bench Outdoor Co",
            "publisher_platforms": ["facebook", "instagram"],
            "languages": ["en"],
        }

    def _snapshot(self, query: dict) -> None:
        ad_id = query.get("id", "")
        page_id, n = ad_id[:-6], int(ad_id[-6:] or 0)
        page = (
            "<!DOCTYPE html><html><body><div class='body'>Ad</div>"
            f"<div class='media'><img src='/media/{html.escape(page_id)}/{n}.jpg' alt=''></div>"
            f"<a href='https://bench-outdoor.example/offers/{n}'>Shop now</a></body></html>"
        )
        self._send(200, page.encode(), "text/html; charset=utf-8")

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--ads", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--api-latency-ms", type=float, default=0)
    parser.add_argument("--image-kb", type=int, default=200)
    args = parser.parse_args(argv)
    images = base_images(args.image_kb)
    server = BenchServer(
        (args.host, args.port),
        ads=args.ads,
        latency_s=args.latency_ms / 1000,
        api_latency_s=args.api_latency_ms / 1000,
        images=images,
    )
    sizes = ", ".join(str(len(i) // 1024) for i in images)
    print(f"ready {server.base_url} images {sizes} KB", flush=True)
    server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
