"""The compare page: its numbers from PostgreSQL, its SVG charts, and the page that shows them."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone

from adology.dashboard import charts
from adology.dashboard.compare import brandspace_comparison, week_starts
from adology.dashboard.selectors import brands_in_brandspace
from brands.models import Membership
from tests import factories

TODAY = dt.date(2025, 3, 12)  # a Wednesday; with weeks=4 the window is Feb 17 .. Mar 16
MONDAYS = [dt.date(2025, 2, 17), dt.date(2025, 2, 24), dt.date(2025, 3, 3), dt.date(2025, 3, 10)]
SVG = "{http://www.w3.org/2000/svg}"


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def ad(brand, *, started=TODAY, first_seen=None, format="image", active=True, days=10):
    return factories.CreativeFactory(
        brand=brand,
        started_running_on=started,
        first_seen_at=first_seen or at(started or TODAY),
        format=format,
        is_active=active,
        days_running=days,
    )


@pytest.fixture
def market(db):
    """A brandspace with a primary brand, a competitor and a quiet followed brand (no ads)."""
    space = factories.BrandspaceFactory(primary_brand__name="Acme")
    competitor = factories.TrackedBrandFactory(brandspace=space, role="competitor", brand__name="Bolt").brand
    quiet = factories.TrackedBrandFactory(brandspace=space, role="followed", brand__name="Calm").brand
    return space, space.primary_brand, competitor, quiet


def compare(space, **kwargs):
    return brandspace_comparison(space, brands=brands_in_brandspace(space), today=TODAY, weeks=4, **kwargs)


def by_name(result) -> dict[str, dict]:
    return {row["name"]: row for row in result["brands"]}


# --- numbers ---------------------------------------------------------------------------------


def test_week_starts_are_the_mondays_of_the_last_iso_weeks():
    assert week_starts(TODAY, 4) == MONDAYS
    assert week_starts(dt.date(2025, 3, 10), 1) == [dt.date(2025, 3, 10)]  # a Monday is its own week
    assert week_starts(dt.date(2025, 3, 16), 1) == [dt.date(2025, 3, 10)]  # Sunday ends the ISO week


def test_launches_per_week_are_zero_filled_and_bounded_by_the_window(market):
    space, acme, bolt, _ = market
    ad(acme, started=dt.date(2025, 2, 16))  # the Sunday before the window
    ad(acme, started=dt.date(2025, 2, 17))
    ad(acme, started=dt.date(2025, 3, 10))
    ad(acme, started=dt.date(2025, 3, 12))
    ad(acme, started=dt.date(2025, 3, 16))  # Sunday of this week: still this week
    ad(bolt, started=dt.date(2025, 2, 28))

    result = compare(space)

    assert result["weeks"] == MONDAYS
    rows = by_name(result)
    assert rows["Acme"]["launches"] == [1, 0, 0, 3]
    assert rows["Acme"]["launches_total"] == 4
    assert rows["Bolt"]["launches"] == [0, 1, 0, 0]
    assert rows["Calm"]["launches"] == [0, 0, 0, 0]


def test_an_ad_without_a_start_date_counts_in_the_week_it_was_first_seen(market):
    space, acme, _, _ = market
    ad(acme, started=None, first_seen=dt.datetime(2025, 3, 9, 23, 30, tzinfo=dt.UTC))  # Sunday night
    ad(acme, started=None, first_seen=dt.datetime(2025, 3, 10, 0, 15, tzinfo=dt.UTC))  # Monday morning
    # A start date wins over a later first sighting.
    ad(acme, started=dt.date(2025, 2, 20), first_seen=at(dt.date(2025, 3, 11)))

    assert by_name(compare(space))["Acme"]["launches"] == [1, 0, 1, 1]


def test_a_brand_without_ads_appears_with_zeros(market):
    space, acme, _, _ = market
    ad(acme, active=True)

    calm = by_name(compare(space))["Calm"]

    assert calm["role"] == "followed"
    assert calm["total"] == 0
    assert calm["active"] == 0
    assert calm["launches"] == [0, 0, 0, 0]
    assert [f["count"] for f in calm["formats"]] == [0, 0, 0, 0]
    assert all(f["percent"] is None for f in calm["formats"])
    assert calm["active_percent"] is None  # no ads: no ratio to speak of
    assert calm["active_share_percent"] == 0.0  # but 0% of the brandspace's active ads
    assert calm["median_days_running"] is None


def test_brands_keep_the_given_order_and_each_has_its_own_colour(market):
    space, *_ = market
    result = compare(space)
    assert [(r["name"], r["role"]) for r in result["brands"]] == [
        ("Acme", "primary"),
        ("Bolt", "competitor"),
        ("Calm", "followed"),
    ]
    assert [r["colour"] for r in result["brands"]] == list(charts.OKABE_ITO[:3])


def test_median_days_running_over_all_ads_with_an_even_count(market):
    space, acme, bolt, _ = market
    for days in (2, 4, 10, 30):
        ad(acme, days=days, active=days < 10)  # stopped ads count too
    for days in (1, 5, 9):
        ad(bolt, days=days)

    rows = by_name(compare(space))

    assert rows["Acme"]["median_days_running"] == 7.0  # (4 + 10) / 2
    assert rows["Bolt"]["median_days_running"] == 5.0


def test_format_mix_counts_and_percentages(market):
    space, acme, _, _ = market
    ad(acme, format="image")
    ad(acme, format="image")
    ad(acme, format="video")

    acme_row = by_name(compare(space))["Acme"]

    assert [(f["format"], f["count"], f["percent"]) for f in acme_row["formats"]] == [
        ("image", 2, 66.7),
        ("video", 1, 33.3),
        ("text", 0, 0.0),
        ("carousel", 0, 0.0),
    ]
    assert acme_row["total"] == 3


def test_share_of_active_ads_and_each_brands_own_active_ratio(market):
    space, acme, bolt, _ = market
    for active in (True, True, True, False):
        ad(acme, active=active)
    ad(bolt, active=True)

    result = compare(space)
    rows = by_name(result)

    assert result["all_active"] == 4
    assert result["all_ads"] == 5
    assert (rows["Acme"]["active"], rows["Acme"]["active_share_percent"], rows["Acme"]["active_percent"]) == (
        3,
        75.0,
        75.0,
    )
    assert (rows["Bolt"]["active"], rows["Bolt"]["active_share_percent"], rows["Bolt"]["active_percent"]) == (
        1,
        25.0,
        100.0,
    )


def test_no_active_ads_at_all_leaves_shares_undefined(market):
    space, acme, _, _ = market
    ad(acme, active=False)
    result = compare(space)
    assert result["all_active"] == 0
    assert {r["active_share_percent"] for r in result["brands"]} == {None}
    assert "no active ads" in result["charts"]["active"]


def test_another_brandspaces_brands_are_left_out(market):
    space, acme, _, _ = market
    ad(acme, active=True, days=4)
    # Another organization tracks Acme too, plus a brand of its own with many active ads.
    other_space = factories.BrandspaceFactory(primary_brand__name="Zenith")
    factories.TrackedBrandFactory(brandspace=other_space, brand=acme, role="competitor")
    for _ in range(3):
        ad(other_space.primary_brand, active=True, days=50)

    result = compare(space)

    assert [r["name"] for r in result["brands"]] == ["Acme", "Bolt", "Calm"]
    assert result["all_active"] == 1
    assert by_name(result)["Acme"]["active_share_percent"] == 100.0
    assert by_name(result)["Acme"]["median_days_running"] == 4.0
    assert "Zenith" not in str(result["charts"])


@pytest.mark.parametrize("ads_per_brand", [1, 40])
def test_query_count_does_not_grow_with_the_ads(market, django_assert_num_queries, ads_per_brand):
    space, acme, bolt, _ = market
    for i in range(ads_per_brand):
        ad(acme, started=TODAY - dt.timedelta(days=i), format=["image", "video", "text"][i % 3])
        ad(bolt, started=None, first_seen=at(TODAY - dt.timedelta(days=2 * i)), active=i % 2 == 0)
    brands = brands_in_brandspace(space)

    with django_assert_num_queries(2):  # launches by week; totals, formats and the median
        result = brandspace_comparison(space, brands=brands, today=TODAY, weeks=4)

    assert by_name(result)["Acme"]["total"] == ads_per_brand


# --- charts ----------------------------------------------------------------------------------


def parse(markup: str) -> ET.Element:
    """The markup as XML: a chart must be well-formed, whatever the brand names hold."""
    return ET.fromstring(str(markup))


HOSTILE = '<script>alert("x")</script> & "Co" \'s'


def brand(position, name, **numbers):
    return {
        "id": 100 + position,
        "name": name,
        "colour": charts.series_colour(position),
        "dashed": False,
        **numbers,
    }


def test_nice_ticks_and_scales():
    assert charts.nice_ticks(0) == [0, 1]
    assert charts.nice_ticks(7) == [0, 2, 4, 6, 8]
    assert charts.nice_ticks(40) == [0, 10, 20, 30, 40]
    assert charts.nice_ticks(42.9, integers=False) == [0, 20, 40, 60]
    assert charts.nice_ticks(100, integers=False) == [0, 50, 100]
    assert charts.nice_ticks(0.5, integers=False) == [0, 0.2, 0.4, 0.6]
    y = charts.linear_scale(8, 200, 0)  # a y axis: 0 at the bottom
    assert (y(0), y(4), y(8)) == (200, 100, 0)


def test_number_formats():
    assert charts.plain_number(10.0) == "10"
    assert charts.plain_number(10.5) == "10.5"
    assert charts.percent(33.3) == "33.3%"
    assert charts.days(1) == "1 day"
    assert charts.ads(1) == "1 ad"
    assert charts.ads(3) == "3 ads"


def test_brand_names_are_escaped_in_every_chart_and_legend():
    rows = [
        brand(
            0,
            HOSTILE,
            launches=[1, 2],
            total=3,
            active=1,
            formats=[{"format": "image", "label": "Image", "count": 3, "percent": 100.0}],
        ),
    ]
    markups = [
        charts.launches_chart(MONDAYS[:2], rows),
        charts.format_mix_chart(rows),
        charts.bar_chart(rows, [50.0], label="x", value_format=charts.percent, tick_format=charts.percent),
        charts.brand_legend(rows),
    ]
    for markup in markups:
        assert "<script>" not in markup
        assert "&lt;script&gt;" in markup
        texts = [el.text or "" for el in parse(markup).iter()]
        # The full name reaches a reader intact, as text, in a title or a legend entry.
        assert any(HOSTILE in text for text in texts)


def test_every_chart_is_an_accessible_picture_that_scales():
    rows = [brand(0, "Acme", launches=[0, 3], total=0, active=0, formats=[])]
    for markup in (
        charts.launches_chart(MONDAYS[:2], rows),
        charts.format_mix_chart(rows),
        charts.bar_chart(
            rows, [None], label="Median", value_format=charts.days, tick_format=charts.plain_number
        ),
    ):
        svg = parse(markup)
        assert svg.get("role") == "img"
        assert svg.get("aria-label")
        assert re.fullmatch(r"0 0 \d+ \d+", svg.get("viewBox"))
        assert svg.get("width") is None  # the page's CSS sizes it to its column


def test_line_chart_points_carry_their_numbers_and_sit_on_the_scale():
    rows = [brand(0, "Acme", launches=[0, 4, 8]), brand(1, "Bolt", launches=[2, 0, 0])]
    svg = parse(charts.launches_chart(MONDAYS[:3], rows))

    points = svg.findall(f".//{SVG}g[@class='compare-point']")
    assert len(points) == 6
    acme = [p for p in points if p.get("data-brand-id") == "100"]
    assert [p.find(f"{SVG}title").text for p in acme] == [
        "Acme, week of Feb 17, 2025: 0 ads launched",
        "Acme, week of Feb 24, 2025: 4 ads launched",
        "Acme, week of Mar 3, 2025: 8 ads launched",
    ]
    ys = [float(p.find(f"{SVG}circle").get("cy")) for p in acme]
    assert ys[0] > ys[1] > ys[2]  # more ads, higher up
    assert ys[0] - ys[1] == pytest.approx(ys[1] - ys[2])  # linear
    xs = [float(p.find(f"{SVG}circle").get("cx")) for p in acme]
    assert xs[0] < xs[1] < xs[2]
    tick_labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert {"0", "2", "4", "6", "8"} <= set(tick_labels)  # the y axis
    assert "Feb 17" in tick_labels and "Mar 3" in tick_labels  # the x axis
    assert [line.get("stroke") for line in svg.findall(f".//{SVG}polyline")] == ["#0072B2", "#E69F00"]


def test_bar_lengths_are_proportional_and_titles_carry_the_numbers():
    rows = [brand(0, "Acme"), brand(1, "Bolt"), brand(2, "Calm")]
    svg = parse(
        charts.bar_chart(
            rows, [50.0, 25.0, None], label="Share", value_format=charts.percent, tick_format=charts.percent
        )
    )
    bars = svg.findall(f".//{SVG}g[@class='compare-bar']")
    assert [b.find(f"{SVG}title").text for b in bars] == ["Acme: 50%", "Bolt: 25%", "Calm: no ads"]
    widths = [float(b.find(f"{SVG}rect").get("width")) for b in bars[:2]]
    assert widths[0] == pytest.approx(2 * widths[1], rel=0.01)
    assert bars[2].find(f"{SVG}rect") is None
    assert [t.text for t in bars[0].iter(f"{SVG}text")] == ["Acme", "50%"]  # the number at a glance


def test_format_mix_segments_fill_the_bar_and_carry_their_share():
    formats = [
        {"format": "image", "label": "Image", "count": 2, "percent": 66.7},
        {"format": "video", "label": "Video", "count": 1, "percent": 33.3},
        {"format": "text", "label": "Text", "count": 0, "percent": 0.0},
    ]
    svg = parse(charts.format_mix_chart([brand(0, "Acme", total=3, formats=formats)]))
    segments = svg.findall(f".//{SVG}g[@class='compare-segment']")
    assert [s.get("data-format") for s in segments] == ["image", "video"]  # no empty segment
    assert segments[1].find(f"{SVG}title").text == "Acme, Video: 1 ad of 3 (33.3%)"
    rects = [s.find(f"{SVG}rect") for s in segments]
    widths = [float(r.get("width")) for r in rects]
    assert widths[0] == pytest.approx(2 * widths[1], rel=0.01)
    assert float(rects[1].get("x")) == pytest.approx(float(rects[0].get("x")) + widths[0], abs=0.01)


def test_long_names_are_shortened_in_the_picture_but_whole_in_the_title():
    name = "The Extraordinarily Long Brand Name Company"
    svg = parse(
        charts.bar_chart(
            [brand(0, name)], [3.0], label="Median", value_format=charts.days, tick_format=charts.plain_number
        )
    )
    bar = svg.find(f".//{SVG}g[@class='compare-bar']")
    assert bar.find(f"{SVG}title").text == f"{name}: 3 days"
    label = bar.find(f"{SVG}text").text
    assert label.endswith("…") and len(label) <= charts.NAME_CHARACTERS


# --- the page --------------------------------------------------------------------------------


def cells(html: str, testid: str, brand_id: int) -> list[str]:
    """The text of a table row's cells, as a reader sees them."""
    table = re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', html, re.S).group(0)
    row = re.search(rf'<tr data-brand-id="{brand_id}">(.*?)</tr>', table, re.S).group(1)
    return [
        " ".join(re.sub(r"<[^>]+>", " ", c).split())
        for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
    ]


def test_the_compare_page_shows_the_numbers_for_a_member(market):
    space, acme, bolt, quiet = market
    acme.name = 'Acme <b>"Bold"</b>'
    acme.save()
    today = timezone.localdate()
    ad(acme, started=today, format="video", days=3)
    ad(acme, started=today, format="image", days=5, active=False)
    ad(bolt, started=None, first_seen=at(today), days=8)
    user = factories.member(space.organization, Membership.Role.MEMBER)
    client = Client()
    client.force_login(user)

    response = client.get(f"/brandspaces/{space.pk}/compare/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<b>" not in html and "Acme &lt;b&gt;&quot;Bold&quot;&lt;/b&gt;" in html
    assert cells(html, "table-launches", acme.pk)[-2:] == ["2", "2"]  # this week, total
    assert cells(html, "table-launches", bolt.pk)[-1] == "1"
    assert cells(html, "table-launches", quiet.pk)[1:] == ["0"] * 13
    assert cells(html, "table-formats", acme.pk)[1:] == ["1 (50%)", "1 (50%)", "0 (0%)", "0 (0%)", "2"]
    assert cells(html, "table-active", acme.pk)[1:] == ["1", "50%", "2", "50%"]
    assert cells(html, "table-active", quiet.pk)[1:] == ["0", "0%", "0", "—"]
    assert cells(html, "table-median", acme.pk)[1:] == ["4", "2"]
    assert cells(html, "table-median", quiet.pk)[1:] == ["—", "0"]
    assert html.count('role="img"') == 4
