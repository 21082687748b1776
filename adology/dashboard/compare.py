"""The compare page's numbers: the brandspace's brands side by side, computed in PostgreSQL.

Two aggregate queries whatever the number of ads: launches per brand and ISO week, and per
brand the totals, active ads, median days running and the format mix. Every brand
passed in appears in every result, with zeros when it has no ads, so a quiet competitor
shows as quiet instead of vanishing from the comparison.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Aggregate, Count, DateField, F, FloatField, Q
from django.db.models.functions import Coalesce, TruncDate, TruncWeek
from django.utils import timezone

from adology.dashboard import charts
from brands.models import Brandspace, Creative

FORMATS = Creative.Format.choices  # (value, label) in the order the page shows them


class Median(Aggregate):
    """PostgreSQL's continuous median: the mean of the two middle values for an even count."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def week_starts(today: dt.date, weeks: int) -> list[dt.date]:
    """The Mondays of the last `weeks` ISO weeks, oldest first; the last is today's week."""
    this_monday = today - dt.timedelta(days=today.weekday())
    return [this_monday - dt.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def _percent(part: int, whole: int) -> float | None:
    """part/whole in percent, to one decimal (what the page shows); None when whole is 0."""
    return round(100 * part / whole, 1) if whole else None


def brandspace_comparison(
    brandspace: Brandspace, *, brands: list[dict], today: dt.date | None = None, weeks: int = 12
) -> dict:
    """The compare page's numbers and charts for `brands` ({id, name, role}, in display order).

    `brands` are the brandspace's brands as the view resolved them for the signed-in user;
    only their ads are counted, and "all active ads" means the active ads of these brands.
    """
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    today = today or timezone.localdate()
    mondays = week_starts(today, weeks)
    window_end = mondays[-1] + dt.timedelta(weeks=1)
    ids = [b["id"] for b in brands]
    creatives = Creative.objects.filter(brand_id__in=ids)

    # "Launched" is the day the source says the ad started running; without one, the day we
    # first saw it (in the site's time zone, as everything else on the page).
    launched = creatives.annotate(
        launched_on=Coalesce(F("started_running_on"), TruncDate("first_seen_at"), output_field=DateField())
    ).filter(launched_on__gte=mondays[0], launched_on__lt=window_end)
    launches: dict[tuple[int, dt.date], int] = {
        (row["brand_id"], row["week"]): row["n"]
        for row in launched.annotate(week=TruncWeek("launched_on", output_field=DateField()))
        .values("brand_id", "week")
        .annotate(n=Count("id"))
        .order_by()
    }

    # Totals, active ads, the median and the format mix in one pass over the brands' ads.
    per_format = {f"format_{value}": Count("id", filter=Q(format=value)) for value, _ in FORMATS}
    totals = {
        row["brand_id"]: row
        for row in creatives.values("brand_id")
        .annotate(
            total=Count("id"),
            active=Count("id", filter=Q(is_active=True)),
            median=Median("days_running"),
            **per_format,
        )
        .order_by()
    }
    all_active = sum(row["active"] for row in totals.values())

    rows = []
    for position, brand in enumerate(brands):
        brand_id = brand["id"]
        counted = totals.get(brand_id, {})
        total, active = counted.get("total", 0), counted.get("active", 0)
        by_format = {value: counted.get(f"format_{value}", 0) for value, _ in FORMATS}
        weekly = [launches.get((brand_id, monday), 0) for monday in mondays]
        rows.append(
            {
                "id": brand_id,
                "name": brand["name"],
                "role": brand["role"],
                "colour": charts.series_colour(position),
                "dashed": charts.series_dashed(position),
                "launches": weekly,
                "launches_total": sum(weekly),
                "formats": [
                    {
                        "format": value,
                        "label": label,
                        "count": by_format[value],
                        "percent": _percent(by_format[value], total),
                    }
                    for value, label in FORMATS
                ],
                "total": total,
                "active": active,
                # Of the brand's own ads, and of all active ads of the brandspace's brands.
                "active_percent": _percent(active, total),
                "active_share_percent": _percent(active, all_active),
                "median_days_running": counted.get("median"),
            }
        )

    formats_shown = [{"format": value, "label": label} for value, label in FORMATS]
    return {
        "today": today,
        "weeks": mondays,
        "formats": formats_shown,
        "all_active": all_active,
        "all_ads": sum(row["total"] for row in rows),
        "brands": rows,
        "charts": {
            "brand_legend": charts.brand_legend(rows),
            "launches": charts.launches_chart(mondays, rows),
            "format_legend": charts.format_legend(formats_shown),
            "formats": charts.format_mix_chart(rows),
            "active": charts.bar_chart(
                rows,
                [row["active_share_percent"] for row in rows],
                label="Share of the brandspace's active ads",
                value_format=charts.percent,
                tick_format=charts.percent,
                missing="no active ads",
            ),
            "median": charts.bar_chart(
                rows,
                [row["median_days_running"] for row in rows],
                label="Median days running",
                value_format=charts.days,
                tick_format=charts.plain_number,
            ),
        },
    }
