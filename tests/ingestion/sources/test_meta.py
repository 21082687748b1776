import datetime as dt
import json
import time

import pytest

from ingestion.sources.base import SourceFailed
from ingestion.sources.meta import extract_snapshot_media
from ingestion.sources.registry import source_for
from ingestion.sources.sample import SAMPLE_ACCESS_TOKEN, sample_ads

from .conftest import TODAY, archive_requests

pytestmark = pytest.mark.django_db

PAGE_IDS = [f"2000000000000{n:02d}" for n in range(11)]


def fetch_meta(brand, **kwargs):
    return list(source_for("meta").fetch(brand, **kwargs))


def test_pages_through_every_page_of_each_group_of_ten_page_ids(start_server, use_server, brand_with):
    server = use_server(start_server(ads_per_brand=2, page_size=8))
    brand = brand_with(meta=PAGE_IDS)

    records = fetch_meta(brand)

    expected = [ad.id for page_id in sorted(PAGE_IDS) for ad in sample_ads(page_id, count=2, today=TODAY)]
    assert [r.source_ad_id for r in records] == expected  # 22 ads, each once, in the API's order
    calls = archive_requests(server)
    # 10 ids: 20 ads in pages of 8 (3 calls); then the 11th id alone (1 call).
    assert [len(json.loads(q["search_page_ids"])) for q in calls] == [10, 10, 10, 1]
    assert [bool(q.get("after")) for q in calls] == [False, True, True, False]
    first = calls[0]
    assert first["ad_active_status"] == "ALL"
    assert json.loads(first["ad_reached_countries"]) == ["US"]
    assert first["limit"] == "500"
    assert "ad_snapshot_url" in first["fields"].split(",")


def test_reads_media_from_snapshots_and_stores_no_access_token(sample_server, use_server, brand_with):
    server = use_server(sample_server)
    brand = brand_with(meta=["100000000000001"])

    records = fetch_meta(brand)

    assert len(records) == 12
    kinds = [ad.kind for ad in sample_ads("100000000000001", today=TODAY)]
    by_kind = dict(zip(kinds[:6], records[:6], strict=True))  # the first group of six
    original = by_kind["original"]
    assert original.format == "image"
    assert original.media_urls == (f"{server.base_url}/media/100000000000001/m0-1080x1080-q90.jpg",)
    assert by_kind["near-duplicate"].media_urls == (
        f"{server.base_url}/media/100000000000001/m0-600x600-q70.jpg",
    )
    assert by_kind["same-image"].media_urls == original.media_urls
    assert by_kind["same-text"].body == original.body
    carousel = by_kind["carousel"]
    assert carousel.format == "carousel" and len(carousel.media_urls) == 3
    assert by_kind["text"].format == "text" and by_kind["text"].media_urls == ()
    # The profile picture, the tracking pixel and the data: URI are not media.
    every_url = [url for r in records for url in r.media_urls]
    assert not [u for u in every_url if "profile" in u or "/tr" in u or u.startswith("data:")]

    assert original.link_url == "https://sample-brand-0001.example/offers/0"
    assert original.platforms[:2] == ("facebook", "instagram")
    assert original.countries == ("US",)
    assert original.started_running_on is not None and original.started_running_on < TODAY
    snapshot = original.raw["ad_snapshot_url"]
    assert snapshot.startswith(f"{server.base_url}/ads/archive/render_ad/") and "id=" in snapshot
    assert SAMPLE_ACCESS_TOKEN not in repr([r.raw for r in records]) + repr(every_url)


def test_since_asks_for_ads_delivered_from_that_day(sample_server, use_server, brand_with):
    server = use_server(sample_server)
    brand = brand_with(meta=["100000000000001"])
    since = TODAY - dt.timedelta(days=10)

    records = fetch_meta(brand, since=since)

    assert {q["ad_delivery_date_min"] for q in archive_requests(server)} == {since.isoformat()}
    assert records and all(r.stopped_running_on is None or r.stopped_running_on >= since for r in records)
    assert len(records) < 12


@pytest.mark.parametrize("code", [4, 17, 613])
def test_rate_limits_are_waited_out_and_every_ad_arrives(sample_server, use_server, brand_with, code):
    server = use_server(sample_server)
    server.faults.inject_graph_error(code, times=2, skip=1)  # page 2 is refused twice
    brand = brand_with(meta=["100000000000001"])

    records = fetch_meta(brand)

    assert len(records) == 12
    assert len(archive_requests(server)) == 3 + 2  # three pages, two of them refused first


def test_a_rate_limit_that_never_lifts_fails_with_the_reason(sample_server, use_server, brand_with):
    server = use_server(sample_server)
    server.faults.inject_graph_error(17, times=50)
    brand = brand_with(meta=["100000000000001"])

    started = time.monotonic()
    with pytest.raises(SourceFailed) as failure:
        fetch_meta(brand)

    assert "rate limit" in failure.value.reason and "code 17" in failure.value.reason
    assert len(archive_requests(server)) == 5  # SOURCE_RATE_LIMIT_MAX_ATTEMPTS
    assert time.monotonic() - started < 5


def test_reduce_the_amount_of_data_halves_the_limit(start_server, use_server, brand_with):
    server = use_server(start_server(ads_per_brand=150, page_size=None))
    server.faults.max_limit = 100
    brand = brand_with(meta=["100000000000001"])

    records = fetch_meta(brand)

    assert len(records) == 150
    limits = [int(q["limit"]) for q in archive_requests(server)]
    assert limits[:4] == [500, 250, 125, 62]  # three refusals with code 1, then a page of 62
    assert set(limits[4:]) == {62}  # the rest of the sequence keeps the smaller pages


def test_a_rejected_access_token_fails_the_run_clearly(sample_server, use_server, settings, brand_with):
    use_server(sample_server)
    settings.META_ACCESS_TOKEN = "expired-token"
    brand = brand_with(meta=["100000000000001"])

    with pytest.raises(SourceFailed) as failure:
        fetch_meta(brand)

    assert failure.value.reason.startswith("Meta rejected the access token (code 190): Invalid OAuth")


def test_an_invalid_parameter_fails_the_run_clearly(sample_server, use_server, brand_with):
    server = use_server(sample_server)
    server.faults.inject_graph_error(100, message="(#100) search_page_ids contains an invalid id")
    brand = brand_with(meta=["100000000000001"])

    with pytest.raises(SourceFailed) as failure:
        fetch_meta(brand)

    assert failure.value.reason == (
        "Meta rejected the request as invalid (code 100): (#100) search_page_ids contains an invalid id"
    )
    assert len(archive_requests(server)) == 1  # not retried


def test_server_errors_are_retried_a_bounded_number_of_times(sample_server, use_server, brand_with):
    server = use_server(sample_server)
    server.faults.inject_graph_error(2, times=1)
    brand = brand_with(meta=["100000000000001"])
    assert len(fetch_meta(brand)) == 12  # one 500 is retried

    server.faults.inject_graph_error(2, times=10)
    with pytest.raises(SourceFailed) as failure:
        fetch_meta(brand)
    assert "kept failing after 3 attempts" in failure.value.reason


def test_an_unreachable_graph_api_fails_after_retries(settings, brand_with):
    settings.META_GRAPH_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.META_ACCESS_TOKEN = SAMPLE_ACCESS_TOKEN
    brand = brand_with(meta=["100000000000001"])

    with pytest.raises(SourceFailed) as failure:
        fetch_meta(brand)

    assert "connection failed" in failure.value.reason


def test_missing_token_or_page_id_fails_with_what_to_fix(sample_server, use_server, settings, brand_with):
    use_server(sample_server)
    with pytest.raises(SourceFailed, match="has no Meta page id"):
        fetch_meta(brand_with(google=["AR1"]))

    settings.META_ACCESS_TOKEN = ""
    with pytest.raises(SourceFailed, match="META_ACCESS_TOKEN is not set"):
        fetch_meta(brand_with(meta=["100000000000001"]))


def test_an_unreadable_snapshot_keeps_the_ad_and_says_why(sample_server, use_server, brand_with, settings):
    server = use_server(sample_server)
    settings.SOURCE_READ_TIMEOUT_S = 0.2
    server.faults.timeout_s = 0.4
    first, second, third = (ad.id for ad in sample_ads("100000000000001", today=TODAY)[:3])
    server.faults.snapshots.update({first: "404", second: "500", third: "timeout"})
    brand = brand_with(meta=["100000000000001"])

    records = fetch_meta(brand)

    assert len(records) == 12
    reasons = [r.raw.get("snapshot_error") for r in records[:3]]
    assert reasons[0] == "snapshot answered HTTP 404"
    assert reasons[1] == (
        f"Meta snapshot of ad {second} kept failing after 3 attempts: snapshot answered HTTP 500"
    )
    assert "timed out" in reasons[2]
    assert all(r.media_urls == () for r in records[:3])
    assert all("snapshot_error" not in r.raw for r in records[3:])


VIDEO_SNAPSHOT = """
<div><img src="https://scontent.example/profile.jpg" class="x1 _8nqq" alt="Brand profile picture"></div>
<video poster="https://scontent.example/poster.jpg" controls>
  <source src="https://video.example/ad-720.mp4" type="video/mp4">
</video>
<video src="/videos/second.mp4"></video>
<audio><source src="https://audio.example/jingle.mp3"></audio>
<picture><source srcset="https://scontent.example/wide.webp"><img src="https://scontent.example/card.jpg"></picture>
<img src="https://scontent.example/icon.png" width="16" height="16">
<img src="https://www.facebook.com/tr?id=1" width="1" height="1">
<img src="data:image/png;base64,iVBORw0KGgo=">
<a href="https://www.facebook.com/brand">Brand</a><a href="https://shop.example/?utm=x">Shop now</a>
"""


def test_snapshot_extraction_keeps_videos_and_pictures_not_posters_or_decorations():
    media = extract_snapshot_media(VIDEO_SNAPSHOT, base_url="https://www.facebook.com/ads/archive/render_ad/")

    assert media.videos == ("https://video.example/ad-720.mp4", "https://www.facebook.com/videos/second.mp4")
    assert media.images == ("https://scontent.example/card.jpg",)
    assert media.media == (*media.videos, *media.images)
    assert media.link_url == "https://shop.example/?utm=x"
