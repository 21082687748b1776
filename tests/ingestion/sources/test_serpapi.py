import datetime as dt

import pytest

from ingestion.sources.base import SourceFailed
from ingestion.sources.registry import source_for
from ingestion.sources.sample import SAMPLE_API_KEY, sample_ads

from .conftest import TODAY, search_requests

pytestmark = pytest.mark.django_db


def fetch_google(brand, **kwargs):
    return list(source_for("google").fetch(brand, **kwargs))


def test_pages_by_next_page_token_for_each_advertiser(sample_server, use_server, brand_with):
    server = use_server(sample_server)
    brand = brand_with(google=["AR01", "AR02"])

    records = fetch_google(brand)

    expected = [f"CR{ad.id}" for a in ("AR01", "AR02") for ad in sample_ads(a, count=12, today=TODAY)]
    assert [r.source_ad_id for r in records] == expected
    calls = search_requests(server)
    assert [(q["advertiser_id"], bool(q.get("next_page_token"))) for q in calls] == [
        ("AR01", False),
        ("AR01", True),
        ("AR01", True),
        ("AR02", False),
        ("AR02", True),
        ("AR02", True),
    ]
    assert {(q["engine"], q["num"], q["api_key"]) for q in calls} == {
        ("google_ads_transparency_center", "100", SAMPLE_API_KEY)
    }


def test_creatives_become_records(sample_server, use_server, brand_with):
    server = use_server(sample_server)
    brand = brand_with(google=["AR01"])

    records = fetch_google(brand)

    ads = sample_ads("AR01", count=12, today=TODAY)
    first, text_ad = records[0], records[5]
    assert first.source == "google" and first.format == "image"
    assert first.media_urls == (f"{server.base_url}{ads[0].media[0]}",)
    assert first.platforms == ("google",)
    assert first.started_running_on == ads[0].start
    assert first.link_url == f"https://adstransparency.google.com/advertiser/AR01/creative/CR{ads[0].id}"
    assert first.raw["total_days_shown"] >= 1 and "details_link" in first.raw
    assert text_ad.format == "text"
    stopped = [(r, ad) for r, ad in zip(records, ads, strict=True) if ad.stop]
    assert stopped and all(r.stopped_running_on == ad.stop for r, ad in stopped)
    running = [r for r, ad in zip(records, ads, strict=True) if not ad.stop]
    assert running and all(r.stopped_running_on is None for r in running)
    assert SAMPLE_API_KEY not in repr([r.raw for r in records])


def test_since_skips_ads_that_stopped_before_it(sample_server, use_server, brand_with):
    use_server(sample_server)
    brand = brand_with(google=["AR01"])
    since = TODAY - dt.timedelta(days=10)

    records = fetch_google(brand, since=since)

    assert 0 < len(records) < 12
    assert all(r.stopped_running_on is None or r.stopped_running_on >= since for r in records)


def test_a_429_is_waited_out_and_every_ad_arrives(sample_server, use_server, brand_with):
    server = use_server(sample_server)
    server.faults.inject_serpapi_status(429, times=2, skip=1)
    brand = brand_with(google=["AR01"])

    records = fetch_google(brand)

    assert len(records) == 12
    assert len(search_requests(server)) == 3 + 2


def test_a_bad_api_key_fails_the_run_clearly(sample_server, use_server, settings, brand_with):
    server = use_server(sample_server)
    settings.SERPAPI_API_KEY = "wrong-key"
    brand = brand_with(google=["AR01"])

    with pytest.raises(SourceFailed) as failure:
        fetch_google(brand)

    assert failure.value.reason.startswith("SerpApi rejected the API key (HTTP 401): Invalid API key")
    assert len(search_requests(server)) == 1


def test_no_results_from_google_is_an_empty_page_not_a_failure(sample_server, use_server, brand_with):
    server = use_server(sample_server)
    server.faults.no_results.add("AR01")
    brand = brand_with(google=["AR01", "AR02"])

    records = fetch_google(brand)

    assert len(records) == 12 and {r.raw["advertiser_id"] for r in records} == {"AR02"}


def test_other_errors_fail_with_serpapis_message(sample_server, use_server, brand_with):
    server = use_server(sample_server)
    server.faults.inject_serpapi_status(400, error="Invalid advertiser_id parameter.")
    brand = brand_with(google=["AR01"])

    with pytest.raises(SourceFailed) as failure:
        fetch_google(brand)

    assert failure.value.reason == "SerpApi error (HTTP 400): Invalid advertiser_id parameter."


def test_missing_key_or_advertiser_id_fails_with_what_to_fix(sample_server, use_server, settings, brand_with):
    use_server(sample_server)
    with pytest.raises(SourceFailed, match="has no Google advertiser id"):
        fetch_google(brand_with(meta=["100000000000001"]))

    settings.SERPAPI_API_KEY = ""
    with pytest.raises(SourceFailed, match="SERPAPI_API_KEY is not set"):
        fetch_google(brand_with(google=["AR01"]))


@pytest.mark.parametrize(
    "link", ["javascript:alert(document.cookie)", "data:text/html,hi", "//no-scheme.example"]
)
def test_a_link_that_is_not_http_is_not_stored(link):
    source = source_for("google")
    item = {"ad_creative_id": "CR1", "format": "text", "link": link, "first_shown": "2026-11-01"}
    record = source._record(item, today=TODAY)
    assert record is not None and record.link_url == ""
