import datetime as dt
import json

import pytest

from ingestion.sources.feed import FeedRejected, FeedRowError, parse_feed

CSV = b"""brand,Ad ID,media_url,text,title,link,start_date,end_date,platform,format,notes
trailhead-gear,A1,https://cdn.example/a1.jpg,Summer sale,20% off,https://shop.example/a1,\
2026-05-01,,"Facebook, Instagram",,ours
trailhead-gear,A2,https://cdn.example/a2.jpg | https://cdn.example/a3.png,,,,2026-05-02,2026-05-09,,,
Summit Supply,B1,,"Free shipping,
on every order",,,,,,,
trailhead-gear,,https://cdn.example/x.jpg,no id,,,,,,,
trailhead-gear,A3,ftp://cdn.example/a3.jpg,bad scheme,,,,,,,
trailhead-gear,A4,https://cdn.example/a4.mp4,bad date,,,05/01/2026,,,,
trailhead-gear,A5,https://cdn.example/a5.mp4,video,,,,,youtube,,
trailhead-gear,A1,https://cdn.example/again.jpg,repeat,,,,,,,
trailhead-gear,A6,,,,,,,,,
trailhead-gear,A7,https://cdn.example/a7.jpg,,,,,,,gif,
"""


def test_csv_keeps_good_rows_and_reports_bad_ones_by_line():
    result = parse_feed(CSV, filename="ads.csv")

    assert [(brand, r.source_ad_id) for brand, r in result.records] == [
        ("trailhead-gear", "A1"),
        ("trailhead-gear", "A2"),
        ("Summit Supply", "B1"),
        ("trailhead-gear", "A5"),
    ]
    a1, a2, b1, a5 = (r for _, r in result.records)
    assert a1.source == "feed" and a1.format == "image" and a1.media_urls == ("https://cdn.example/a1.jpg",)
    assert (a1.body, a1.title, a1.link_url) == ("Summer sale", "20% off", "https://shop.example/a1")
    assert a1.platforms == ("facebook", "instagram")
    assert a1.started_running_on == dt.date(2026, 5, 1) and a1.stopped_running_on is None
    assert a2.format == "carousel" and a2.media_urls == (
        "https://cdn.example/a2.jpg",
        "https://cdn.example/a3.png",
    )
    assert a2.stopped_running_on == dt.date(2026, 5, 9)
    assert b1.format == "text" and b1.body == "Free shipping,\non every order"
    assert a5.format == "video"
    # Line 1 is the header; B1 spans lines 4-5, so the rows after it start one line later.
    assert result.errors == [
        FeedRowError(6, "ad_id is missing"),
        FeedRowError(7, "media_url 'ftp://cdn.example/a3.jpg' is not an http(s) URL"),
        FeedRowError(8, "start_date '05/01/2026' is not a date (YYYY-MM-DD)"),
        FeedRowError(10, "ad_id 'A1' for brand 'trailhead-gear' repeats line 2"),
        FeedRowError(11, "a row needs a media_url or text"),
        FeedRowError(12, "format 'gif' is not one of image, video, carousel, text"),
    ]


def test_json_lines_keeps_good_rows_and_reports_bad_ones_by_line():
    lines = [
        json.dumps({"brand": "basecamp-co", "ad_id": 7, "media_url": ["https://cdn.example/1.jpg"]}),
        "",
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"brand": "basecamp-co", "ad_id": "8", "text": "Hello", "end_date": "2026-13-01"}),
        json.dumps(
            {"Brand": "basecamp-co", "Ad ID": "9", "text": "Hi", "platform": ["YouTube"], "country": "us"}
        ),
    ]
    result = parse_feed("\n".join(lines).encode(), filename="ads.jsonl")

    assert [(b, r.source_ad_id, r.format) for b, r in result.records] == [
        ("basecamp-co", "7", "image"),
        ("basecamp-co", "9", "text"),
    ]
    assert result.records[1][1].platforms == ("youtube",) and result.records[1][1].countries == ("US",)
    assert [(e.line, e.message.split(" (")[0]) for e in result.errors] == [
        (3, "is not valid JSON"),
        (4, "is not a JSON object"),
        (5, "end_date '2026-13-01' is not a date"),
    ]


def test_a_file_without_a_required_column_is_refused_whole():
    with pytest.raises(FeedRejected, match="Required column missing from the header: ad_id"):
        parse_feed(b"brand,media_url\nx,https://cdn.example/1.jpg\n", filename="ads.csv")
    with pytest.raises(FeedRejected, match="brand, media_url or text"):
        parse_feed(b'{"ad_id": "1", "title": "t"}\n', filename="ads.jsonl")


def test_size_and_row_limits(settings):
    settings.FEED_MAX_BYTES = 200
    settings.FEED_MAX_ROWS = 3
    big = b"brand,ad_id,text\n" + b"b,1,x\n" * 40
    with pytest.raises(FeedRejected) as failure:
        parse_feed(big, filename="ads.csv")
    assert failure.value.message == (
        f"The file is {len(big):,} bytes; a feed may be at most 200 bytes. Split it into smaller files."
    )

    with pytest.raises(FeedRejected, match="more than 3 rows"):
        parse_feed(b"brand,ad_id,text\n" + b"".join(b"b,%d,x\n" % n for n in range(4)), filename="ads.csv")
    assert len(parse_feed(b"brand,ad_id,text\nb,1,x\nb,2,x\nb,3,x\n", filename="ads.csv").records) == 3


def test_unreadable_files_are_refused_with_a_reason():
    with pytest.raises(FeedRejected, match="not UTF-8"):
        parse_feed("brand,ad_id,text\nb,1,caf\u00e9\n".encode("latin-1"), filename="ads.csv")
    with pytest.raises(FeedRejected, match="no rows"):
        parse_feed(b"brand,ad_id,text\n", filename="ads.csv")
    # A byte-order mark and an unknown extension are fine: the content says it is CSV.
    result = parse_feed(b"\xef\xbb\xbfbrand,ad_id,text\nb,1,x\n", filename="export.txt")
    assert [r.source_ad_id for _, r in result.records] == ["1"]
