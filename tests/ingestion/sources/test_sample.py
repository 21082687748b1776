import io

import httpx
import pytest
from PIL import Image

from ingestion.sources.registry import UnknownSource, source_for
from ingestion.sources.sample import sample_ads

from .conftest import TODAY


def fingerprint(data: bytes) -> int:
    """An average hash: near-identical pictures differ in a few bits at most."""
    pixels = list(Image.open(io.BytesIO(data)).convert("L").resize((8, 8)).tobytes())
    mean = sum(pixels) / len(pixels)
    return sum(1 << i for i, p in enumerate(pixels) if p > mean)


def distance(a: bytes, b: bytes) -> int:
    return bin(fingerprint(a) ^ fingerprint(b)).count("1")


def test_the_same_seed_gives_the_same_ads_and_another_seed_others():
    first = sample_ads("100000000000001", count=12, seed=1, today=TODAY)
    assert first == sample_ads("100000000000001", count=12, seed=1, today=TODAY)
    reseeded = sample_ads("100000000000001", count=12, seed=2, today=TODAY)
    assert [a.id for a in first] != [a.id for a in reseeded]
    assert len({a.id for a in first}) == 12


def test_near_duplicates_look_alike_and_variants_do_not(sample_server):
    ads = sample_ads("100000000000001", count=6, today=TODAY)
    by_kind = {ad.kind: ad for ad in ads}

    def get(path):
        response = httpx.get(sample_server.base_url + path)
        assert response.status_code == 200
        return response

    original = get(by_kind["original"].media[0])
    near = get(by_kind["near-duplicate"].media[0])
    other = get(by_kind["same-text"].media[0])
    assert original.headers["content-type"] == "image/jpeg"
    assert original.content != near.content  # re-encoded and resized: other bytes
    assert Image.open(io.BytesIO(near.content)).size == (600, 600)
    assert distance(original.content, near.content) <= 6
    assert distance(original.content, other.content) > 12
    assert get(by_kind["original"].media[0]).content == original.content  # drawn the same every time
    assert by_kind["same-image"].media == by_kind["original"].media
    assert by_kind["same-text"].body == by_kind["original"].body


def test_media_faults(sample_server):
    path = sample_ads("100000000000001", count=1, today=TODAY)[0].media[0]
    url = sample_server.base_url + path
    sample_server.faults.media[path] = "404"
    assert httpx.get(url).status_code == 404
    sample_server.faults.media[path] = "html"
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/html"
    sample_server.faults.timeout_s = 0.5
    sample_server.faults.media[path] = "timeout"
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url, timeout=httpx.Timeout(2.0, read=0.1))
    sample_server.faults.big_bytes = 3 * 1024 * 1024
    assert len(httpx.get(url + "?fault=big").content) == 3 * 1024 * 1024


def test_feeds_are_not_fetched_and_unknown_sources_are_refused():
    with pytest.raises(UnknownSource, match="uploaded as files"):
        source_for("feed")
    with pytest.raises(UnknownSource, match="Unknown ad source 'tiktok'"):
        source_for("tiktok")
