"""acquire_media against a real local HTTP server: what it stores and how it says no."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av
import numpy as np
import pytest
from django.core.files.storage import default_storage
from PIL import Image

from ingestion.media import PermanentMediaError, TransientMediaError, acquire_media


def _mp4(seconds: float = 2.0, fps: int = 10) -> bytes:
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for i in range(int(seconds * fps)):
            frame = np.full((96, 160, 3), (i * 10) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def media_host():
    """Serves `routes[path] = (status, content_type, body, extra_headers)`."""
    routes: dict[str, tuple] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            status, content_type, body, headers = routes.get(self.path, (404, "text/plain", b"nope", {}))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(headers.pop("declared", len(body))))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield routes, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def local_storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }


def test_video_gets_duration_a_keyframe_thumbnail_and_an_embedding(media_host, local_storage):
    routes, base = media_host
    routes["/ad.mp4"] = (200, "application/octet-stream", _mp4(seconds=2.0), {})
    media = acquire_media(f"{base}/ad.mp4")
    assert media.mime_type == "video/mp4" and media.storage_key.endswith(".mp4")
    assert media.duration_seconds == pytest.approx(2.0, abs=0.3)
    assert (media.width, media.height) == (160, 96)
    assert media.thumbnail_key and default_storage.exists(media.thumbnail_key)
    assert default_storage.exists(media.storage_key) and media.embedding


def test_type_comes_from_the_bytes_not_the_header(media_host, local_storage):
    routes, base = media_host
    routes["/photo"] = (200, "text/html", _jpeg(), {})  # a CDN that mislabels
    routes["/page.jpg"] = (200, "image/jpeg", b"<!doctype html><html>login</html>", {})
    assert acquire_media(f"{base}/photo").mime_type == "image/jpeg"
    with pytest.raises(PermanentMediaError, match="not an image or video"):
        acquire_media(f"{base}/page.jpg")


def test_the_same_bytes_are_archived_once(media_host, local_storage):
    routes, base = media_host
    routes["/a.jpg"] = routes["/b.jpg"] = (200, "image/jpeg", _jpeg(), {})
    first, second = acquire_media(f"{base}/a.jpg"), acquire_media(f"{base}/b.jpg")
    assert first.storage_key == second.storage_key
    assert default_storage.listdir(f"media/{first.sha256[:2]}")[1] == [f"{first.sha256}.jpg"]


@pytest.mark.parametrize(
    "status, error, reason",
    [
        (404, PermanentMediaError, "HTTP 404"),
        (403, PermanentMediaError, "expired"),
        (503, TransientMediaError, "HTTP 503"),
        (429, TransientMediaError, "HTTP 429"),
    ],
)
def test_http_errors_are_sorted_into_permanent_and_transient(
    media_host, local_storage, status, error, reason
):
    routes, base = media_host
    routes["/x.jpg"] = (status, "text/plain", b"", {})
    with pytest.raises(error, match=reason):
        acquire_media(f"{base}/x.jpg")


def test_a_declared_size_over_the_limit_is_refused_before_downloading(media_host, local_storage, settings):
    routes, base = media_host
    settings.MEDIA_MAX_VIDEO_BYTES = 1000
    routes["/huge.mp4"] = (200, "video/mp4", b"", {"declared": 5000})
    with pytest.raises(PermanentMediaError, match="over the 1000-byte limit"):
        acquire_media(f"{base}/huge.mp4")
