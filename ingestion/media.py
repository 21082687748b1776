"""Acquire one media URL: stream it down, know what it is, archive it by content, describe it.

Errors are sorted into two kinds, because the pipeline treats them differently:
`TransientMediaError` (timeouts, 5xx, 429) is retried with backoff; `PermanentMediaError`
(404, 403 expired link, not an image or video, over the size limit) fails the item at once
with its reason and never fails the run's chord.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field

import httpx
import imagehash
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from PIL import Image, UnidentifiedImageError

from adology.logging import external_call
from intelligence.providers import provider

logger = logging.getLogger(__name__)

Image.MAX_IMAGE_PIXELS = 80_000_000  # refuse decompression bombs, allow big banners


class MediaError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TransientMediaError(MediaError):
    pass


class PermanentMediaError(MediaError):
    pass


# (prefix bytes, offset, mime, extension, kind)
_SIGNATURES = [
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg", "image"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png", "image"),
    (b"GIF87a", 0, "image/gif", "gif", "image"),
    (b"GIF89a", 0, "image/gif", "gif", "image"),
    (b"WEBP", 8, "image/webp", "webp", "image"),
    (b"ftyp", 4, "video/mp4", "mp4", "video"),
    (b"\x1a\x45\xdf\xa3", 0, "video/webm", "webm", "video"),
]


def sniff(head: bytes) -> tuple[str, str, str] | None:
    """(mime, extension, kind) from magic bytes; None when it is neither image nor video."""
    for signature, offset, mime, ext, kind in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            if mime == "image/webp" and head[:4] != b"RIFF":
                continue
            if kind == "video" and mime == "video/mp4" and head[8:12] in (b"heic", b"avif", b"mif1"):
                return ("image/avif", "avif", "image")
            return mime, ext, kind
    return None


@dataclass
class AcquiredMedia:
    sha256: str
    storage_key: str
    mime_type: str
    bytes: int
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    perceptual_hash: str = ""
    thumbnail_key: str = ""
    embedding: bytes | None = None
    embedding_model: str = ""
    features: dict = field(default_factory=dict)  # the provider's image features (colours...)


_client: tuple[int, httpx.Client] | None = None
_client_lock = threading.Lock()


def _http_client() -> httpx.Client:
    """One pooled client per process (made after fork): building one costs ~40 ms of CPU
    (its TLS context loads the CA bundle), which the benchmark showed per URL otherwise."""
    global _client
    pid = os.getpid()
    if _client is None or _client[0] != pid:
        with _client_lock:
            if _client is None or _client[0] != pid:
                pool = max(10, 2 * settings.ACQUIRE_CONCURRENCY)
                _client = (
                    pid,
                    httpx.Client(
                        follow_redirects=True,
                        headers={"User-Agent": "AdologyBot/1.0 (+media archive)"},
                        limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
                    ),
                )
    return _client[1]


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.MEDIA_CONNECT_TIMEOUT, read=settings.MEDIA_READ_TIMEOUT, write=30, pool=30
    )


def _download(url: str, sink, *, run_id: int | None) -> tuple[str, str, str, int]:
    """Stream `url` into `sink`; return (sha256, mime, extension, bytes)."""
    digest = hashlib.sha256()
    size = 0
    kind_info = None
    limit = settings.MEDIA_MAX_VIDEO_BYTES
    try:
        with (
            external_call("media", "download", url=url[:200], run_id=run_id),
            _http_client().stream("GET", url, timeout=_timeout()) as response,
        ):
            status = response.status_code
            if status == 429 or status >= 500:
                raise TransientMediaError(f"HTTP {status} from the media host")
            if status in (403, 410):
                raise PermanentMediaError(f"HTTP {status}: the media link has expired or is forbidden")
            if status >= 400:
                raise PermanentMediaError(f"HTTP {status} from the media host")
            declared = int(response.headers.get("content-length") or 0)
            if declared > limit:
                raise PermanentMediaError(f"{declared} bytes is over the {limit}-byte limit")
            for chunk in response.iter_bytes(64 * 1024):
                if kind_info is None:
                    kind_info = sniff(chunk[:32])
                    if kind_info is None:
                        declared_type = response.headers.get("content-type", "unknown")
                        raise PermanentMediaError(
                            f"not an image or video (starts like {declared_type}, not a known media type)"
                        )
                    limit = (
                        settings.MEDIA_MAX_IMAGE_BYTES
                        if kind_info[2] == "image"
                        else settings.MEDIA_MAX_VIDEO_BYTES
                    )
                size += len(chunk)
                if size > limit:
                    raise PermanentMediaError(f"over the {limit}-byte limit for {kind_info[2]}s")
                digest.update(chunk)
                sink.write(chunk)
    except httpx.TimeoutException as exc:
        raise TransientMediaError(f"timed out fetching media ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise TransientMediaError(f"network error fetching media ({type(exc).__name__})") from exc
    except httpx.InvalidURL as exc:
        raise PermanentMediaError(f"bad media URL: {exc}") from exc
    if kind_info is None:
        raise PermanentMediaError("the media host sent an empty body")
    return digest.hexdigest(), kind_info[0], kind_info[1], size


def _store(key: str, fileobj, *, run_id: int | None) -> None:
    """Content-addressed: a key that exists holds these exact bytes already."""
    with external_call("storage", "exists", key=key, run_id=run_id):
        exists = default_storage.exists(key)
    if exists:
        return
    fileobj.seek(0)
    with external_call("storage", "save", key=key, run_id=run_id):
        saved = default_storage.save(key, File(fileobj))
    if saved != key:  # a concurrent writer won: same bytes, so drop our copy
        default_storage.delete(saved)


def _describe_image(image: Image.Image, result: AcquiredMedia) -> None:
    """Hash, embed and describe once, here, while the picture is decoded: the AI phase reads
    these features instead of downloading and decoding every image again."""
    ai = provider()
    result.perceptual_hash = str(imagehash.phash(image.convert("RGB")))
    result.embedding = ai.image_embedding(image).tobytes()
    result.embedding_model = ai.image_model
    result.features = ai.describe_image(image)
    result.features["width"], result.features["height"] = result.width, result.height


def _video_keyframe(path: str) -> tuple[float | None, Image.Image | None]:
    import av

    try:
        with av.open(path) as container:
            duration = container.duration / 1_000_000 if container.duration else None
            stream = container.streams.video[0]
            stream.codec_context.skip_frame = "NONKEY"
            for frame in container.decode(stream):
                return duration, frame.to_image()
            return duration, None
    except (av.error.FFmpegError, IndexError) as exc:
        raise PermanentMediaError(f"unreadable video: {exc}") from exc


def acquire_media(url: str, *, run_id: int | None = None) -> AcquiredMedia:
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as sink:
        sha256, mime, ext, size = _download(url, sink, run_id=run_id)
        key = f"media/{sha256[:2]}/{sha256}.{ext}"
        result = AcquiredMedia(sha256=sha256, storage_key=key, mime_type=mime, bytes=size)
        sink.seek(0)
        if mime.startswith("image/"):
            try:
                with Image.open(sink) as image:
                    result.width, result.height = image.size
                    # Every feature works on a small picture (16x16 vector, 32x32 pHash, 128px
                    # colours): let the JPEG decoder scale down while decoding (5x less CPU).
                    image.draft("RGB", (512, 512))
                    image.load()
                    _describe_image(image, result)
            except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
                raise PermanentMediaError(f"the image cannot be decoded: {exc}") from exc
        else:
            with tempfile.NamedTemporaryFile(suffix=f".{ext}") as video:
                sink.seek(0)
                while chunk := sink.read(1024 * 1024):
                    video.write(chunk)
                video.flush()
                result.duration_seconds, frame = _video_keyframe(video.name)
            if frame is not None:
                result.width, result.height = frame.size
                _describe_image(frame, result)
                thumb = io.BytesIO()
                frame.convert("RGB").save(thumb, "JPEG", quality=85)
                result.thumbnail_key = f"thumbnails/{sha256[:2]}/{sha256}.jpg"
                _store(result.thumbnail_key, thumb, run_id=run_id)
        _store(key, sink, run_id=run_id)
    return result
