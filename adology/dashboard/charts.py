"""Server-rendered SVG charts for the compare page: pure functions from numbers to safe markup.

Every chart has a viewBox (it scales to the width of its container, phone or laptop), axes with
tick labels, role="img" with an aria-label, and a <title> on each mark so hovering shows its
exact number; the page puts the same numbers in a table beside it. All text that reaches the
markup goes through `_element`, which escapes it: brand names are user data.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import math
from collections.abc import Callable, Sequence

from django.utils.safestring import SafeData, SafeString, mark_safe

# Okabe & Ito's palette, told apart with the common colour-vision deficiencies. Blue first (the
# primary brand), yellow last: it is the hardest to see as a thin line on white.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
# Formats are parts of one whole, not brands: four steps of viridis (also colour-blind safe),
# with the text colour that stays readable on each.
FORMAT_COLOURS = {
    "image": ("#31688E", "#FFFFFF"),
    "video": ("#440154", "#FFFFFF"),
    "text": ("#35B779", "#000000"),
    "carousel": ("#FDE725", "#000000"),
}
_OTHER_FORMAT = ("#8C8C8C", "#000000")

WIDTH = 480  # viewBox width: about 1.2x on a laptop column, 0.75x on a 390 px phone
FONT_SIZE = 13
AXIS_COLOUR = "#595959"
GRID_COLOUR = "#DDDDDD"
TEXT_COLOUR = "#333333"
MUTED_COLOUR = "#6B6B6B"
NAME_CHARACTERS = 40  # what fits a bar chart's width at the phone font size


def series_colour(position: int) -> str:
    return OKABE_ITO[position % len(OKABE_ITO)]


def series_dashed(position: int) -> bool:
    """Past eight brands the colours repeat; a dashed line keeps the series apart."""
    return (position // len(OKABE_ITO)) % 2 == 1


# --- numbers -------------------------------------------------------------------------------


def plain_number(value: float) -> str:
    """12, 10.5: one decimal at most, none when it is zero."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def percent(value: float) -> str:
    return f"{plain_number(value)}%"


def days(value: float) -> str:
    return f"{plain_number(value)} day" if value == 1 else f"{plain_number(value)} days"


def ads(count: int) -> str:
    return "1 ad" if count == 1 else f"{count} ads"


def nice_ticks(maximum: float, *, target: int = 5, integers: bool = True) -> list[float]:
    """Round tick values from 0 to at least `maximum`: steps of 1, 2 or 5 times a power of ten."""
    if maximum <= 0:
        return [0, 1]
    raw_step = maximum / (target - 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    if integers:
        step = max(1, round(step))
    count = math.ceil(maximum / step - 1e-9)
    return [round(step * i, 10) for i in range(count + 1)]


def linear_scale(domain_max: float, start: float, end: float) -> Callable[[float], float]:
    """Maps 0..domain_max onto start..end (end may be below start, as a y axis is)."""
    span = domain_max or 1
    return lambda value: start + (end - start) * (value / span)


def short_week(monday: dt.date) -> str:
    return f"{monday:%b} {monday.day}"


def long_week(monday: dt.date) -> str:
    return f"week of {monday:%b} {monday.day}, {monday.year}"


def truncate(name: str, limit: int = NAME_CHARACTERS) -> str:
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


# --- markup --------------------------------------------------------------------------------


def _coordinate(value: float) -> str:
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@functools.cache
def _attribute_name(name: str) -> str:
    return name.rstrip("_").replace("_", "-")


def _attribute_value(value) -> str:
    if isinstance(value, float):
        return _coordinate(value)
    if isinstance(value, int):
        return str(value)
    return html.escape(str(value), quote=True)


def _element(tag: str, *children, **attributes) -> SafeString:
    """<tag attributes>children</tag>, escaping every attribute value and every child that is
    not already safe markup (an element made here).

    Attribute names: a trailing underscore is dropped (class_) and underscores become dashes
    (text_anchor -> text-anchor); None leaves the attribute out.
    """
    attribute_text = "".join(
        f' {_attribute_name(name)}="{_attribute_value(value)}"'
        for name, value in attributes.items()
        if value is not None
    )
    inner = "".join(
        child if isinstance(child, SafeData) else html.escape(str(child), quote=True)
        for child in children
        if child is not None
    )
    return mark_safe(f"<{tag}{attribute_text}>{inner}</{tag}>")


def _svg(height: float, label: str, *children, class_: str = "") -> SafeString:
    return _element(
        "svg",
        *children,
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {WIDTH} {_coordinate(float(height))}",
        role="img",
        aria_label=label,
        class_=f"compare-chart {class_}".strip(),
        font_size=FONT_SIZE,
        preserveAspectRatio="xMinYMin meet",
    )


def _text(x, y, content, *, anchor="start", colour=TEXT_COLOUR, class_=None, **extra) -> SafeString:
    return _element("text", content, x=x, y=y, text_anchor=anchor, fill=colour, class_=class_, **extra)


# --- charts --------------------------------------------------------------------------------


def launches_chart(mondays: Sequence[dt.date], brands: Sequence[dict]) -> SafeString:
    """One line per brand: ads launched in each ISO week; a point per week carries its number."""
    height, left, right, top, bottom = 270, 52, 14, 14, 48
    plot_width, plot_height = WIDTH - left - right, height - top - bottom
    peak = max((n for brand in brands for n in brand["launches"]), default=0)
    ticks = nice_ticks(peak)
    y = linear_scale(ticks[-1], top + plot_height, top)
    inset = 10  # keeps the first and last points off the axes
    count = len(mondays)
    step = (plot_width - 2 * inset) / (count - 1) if count > 1 else 0
    xs = [left + inset + i * step for i in range(count)] if count > 1 else [left + plot_width / 2]

    parts: list[SafeString] = []
    for tick in ticks:
        parts.append(_element("line", x1=left, x2=WIDTH - right, y1=y(tick), y2=y(tick), stroke=GRID_COLOUR))
        parts.append(_text(left - 6, y(tick) + 4, plain_number(tick), anchor="end", colour=AXIS_COLOUR))
    parts.append(_element("line", x1=left, x2=WIDTH - right, y1=y(0), y2=y(0), stroke=AXIS_COLOUR))
    # A label on every week while they fit, else on every other one counting back from this week.
    every = 1 if count <= 8 else 2
    for i, monday in enumerate(mondays):
        parts.append(_element("line", x1=xs[i], x2=xs[i], y1=y(0), y2=y(0) + 4, stroke=AXIS_COLOUR))
        if (count - 1 - i) % every == 0:
            parts.append(_text(xs[i], y(0) + 18, short_week(monday), anchor="middle", colour=AXIS_COLOUR))
    parts.append(
        _text(
            left + plot_width / 2, height - 6, "Week starting (Monday)", anchor="middle", colour=MUTED_COLOUR
        )
    )
    parts.append(
        _text(
            14,
            top + plot_height / 2,
            "Ads launched",
            anchor="middle",
            colour=MUTED_COLOUR,
            transform=f"rotate(-90 14 {_coordinate(top + plot_height / 2)})",
        )
    )

    for brand in brands:
        points = [(xs[i], y(n)) for i, n in enumerate(brand["launches"])]
        path = " ".join(f"{_coordinate(px)},{_coordinate(py)}" for px, py in points)
        marks = [
            _element(
                "polyline",
                points=path,
                fill="none",
                stroke=brand["colour"],
                stroke_width=2.5,
                stroke_linejoin="round",
                stroke_dasharray="6 4" if brand.get("dashed") else None,
            )
        ]
        for (px, py), monday, n in zip(points, mondays, brand["launches"], strict=True):
            marks.append(
                _element(
                    "g",
                    _element("title", f"{brand['name']}, {long_week(monday)}: {ads(n)} launched"),
                    _element("circle", cx=px, cy=py, r=3.5, fill=brand["colour"]),
                    # A larger invisible target, so the number shows without pixel-hunting.
                    _element("circle", cx=px, cy=py, r=9, fill="transparent", class_="compare-hit"),
                    class_="compare-point",
                    data_brand_id=brand["id"],
                    data_week=monday.isoformat(),
                    data_value=n,
                )
            )
        parts.append(_element("g", *marks, class_="compare-series", data_brand_id=brand["id"]))

    weeks = len(mondays)
    label = (
        f"Line chart: ads launched per week over the last {weeks} weeks, for {len(brands)} brands. "
        "The table below gives every number."
    )
    return _svg(height, label, *parts, class_="compare-chart--lines")


# Horizontal bars: each brand's name on its own line above its bar, so long names and phone
# widths need no name column; the number is printed at the end of the bar.
BAR_LEFT, BAR_RIGHT = 12, 90
ROW_HEIGHT, BAR_HEIGHT, BAR_OFFSET, NAME_BASELINE = 48, 18, 22, 16


def _bar_frame(rows: int, ticks: Sequence[float], tick_format: Callable[[float], str]):
    top, bottom = 4, 30
    axis_y = top + max(rows, 1) * ROW_HEIGHT
    x = linear_scale(ticks[-1], BAR_LEFT, WIDTH - BAR_RIGHT)
    parts = []
    for tick in ticks:
        parts.append(_element("line", x1=x(tick), x2=x(tick), y1=top, y2=axis_y, stroke=GRID_COLOUR))
        parts.append(_text(x(tick), axis_y + 20, tick_format(tick), anchor="middle", colour=AXIS_COLOUR))
    parts.append(_element("line", x1=x(0), x2=x(0), y1=top, y2=axis_y, stroke=AXIS_COLOUR))
    return axis_y + bottom, x, top, parts


def _bar_name(x, row_top, name: str) -> SafeString:
    # A white halo keeps the name readable where it crosses a grid line.
    return _text(
        x,
        row_top + NAME_BASELINE,
        truncate(name),
        class_="compare-name",
        stroke="#FFFFFF",
        stroke_width=4,
        stroke_linejoin="round",
        paint_order="stroke",
    )


def _bar_rect(x0, x1, row_top, fill, **extra) -> SafeString:
    return _element(
        "rect", x=x0, y=row_top + BAR_OFFSET, width=max(x1 - x0, 0.0), height=BAR_HEIGHT, fill=fill, **extra
    )


def _after_bar(x, row_top, content, **extra) -> SafeString:
    return _text(x + 6, row_top + BAR_OFFSET + BAR_HEIGHT / 2 + 4.5, content, **extra)


def bar_chart(
    brands: Sequence[dict],
    values: Sequence[float | None],
    *,
    label: str,
    value_format: Callable[[float], str],
    tick_format: Callable[[float], str],
    domain_max: float | None = None,
    missing: str = "no ads",
) -> SafeString:
    """One horizontal bar per brand, the value printed at its end; None draws no bar."""
    known = [v for v in values if v is not None]
    ticks = nice_ticks(domain_max if domain_max is not None else max(known, default=0), integers=False)
    height, x, top, parts = _bar_frame(len(brands), ticks, tick_format)
    for i, (brand, value) in enumerate(zip(brands, values, strict=True)):
        row_top = top + i * ROW_HEIGHT
        shown = missing if value is None else value_format(value)
        children = [_element("title", f"{brand['name']}: {shown}"), _bar_name(x(0), row_top, brand["name"])]
        if value is None:
            children.append(_after_bar(x(0), row_top, missing, colour=MUTED_COLOUR, class_="compare-missing"))
        else:
            children.append(_bar_rect(x(0), x(value), row_top, brand["colour"]))
            children.append(_after_bar(x(value), row_top, shown, class_="compare-value"))
        parts.append(
            _element("g", *children, class_="compare-bar", data_brand_id=brand["id"], data_value=value)
        )
    aria = f"Bar chart: {label}, one bar per brand, {len(brands)} brands. The table below gives every number."
    return _svg(height, aria, *parts, class_="compare-chart--bars")


def format_mix_chart(brands: Sequence[dict]) -> SafeString:
    """A 100% stacked bar per brand: the share of its ads in each format."""
    height, x, top, parts = _bar_frame(len(brands), [0, 25, 50, 75, 100], percent)
    for i, brand in enumerate(brands):
        row_top = top + i * ROW_HEIGHT
        total = brand["total"]
        children = [
            _element("title", f"{brand['name']}: {ads(total) if total else 'no ads'}"),
            _bar_name(x(0), row_top, brand["name"]),
        ]
        if not total:
            children.append(
                _after_bar(x(0), row_top, "no ads", colour=MUTED_COLOUR, class_="compare-missing")
            )
        start = 0.0
        for part in brand["formats"] if total else []:
            if not part["count"]:
                continue
            fill, ink = FORMAT_COLOURS.get(part["format"], _OTHER_FORMAT)
            share = part["count"] / total * 100
            x0, x1 = x(start), x(start + share)
            segment = [
                _element(
                    "title",
                    f"{brand['name']}, {part['label']}: {ads(part['count'])} of {total} "
                    f"({percent(part['percent'])})",
                ),
                _bar_rect(x0, x1, row_top, fill, stroke="#FFFFFF", stroke_width=1),
            ]
            if x1 - x0 >= 56:  # the percentage fits inside the segment, at phone size too
                middle = row_top + BAR_OFFSET + BAR_HEIGHT / 2 + 4.5
                segment.append(
                    _text((x0 + x1) / 2, middle, percent(part["percent"]), anchor="middle", colour=ink)
                )
            children.append(
                _element(
                    "g",
                    *segment,
                    class_="compare-segment",
                    data_format=part["format"],
                    data_value=part["count"],
                )
            )
            start += share
        if total:
            children.append(_after_bar(x(100), row_top, ads(total), class_="compare-value"))
        parts.append(_element("g", *children, class_="compare-bar", data_brand_id=brand["id"]))
    aria = (
        f"Stacked bar chart: each brand's ads by format, as shares of 100%, {len(brands)} brands. "
        "The table below gives every number."
    )
    return _svg(height, aria, *parts, class_="compare-chart--stacked")


# --- legends (HTML, so long brand names wrap on a phone) ------------------------------------


def _swatch(*children) -> SafeString:
    return _element(
        "svg", *children, width=26, height=12, viewBox="0 0 26 12", aria_hidden="true", focusable="false"
    )


def brand_legend(brands: Sequence[dict]) -> SafeString:
    items = [
        _element(
            "li",
            _swatch(
                _element(
                    "line",
                    x1=1,
                    x2=25,
                    y1=6,
                    y2=6,
                    stroke=brand["colour"],
                    stroke_width=3,
                    stroke_dasharray="6 4" if brand.get("dashed") else None,
                ),
                _element("circle", cx=13, cy=6, r=3.5, fill=brand["colour"]),
            ),
            _element("span", brand["name"]),
            data_brand_id=brand["id"],
        )
        for brand in brands
    ]
    return _element("ul", *items, class_="compare-legend", aria_label="Brands")


def format_legend(formats: Sequence[dict]) -> SafeString:
    items = [
        _element(
            "li",
            _swatch(
                _element(
                    "rect",
                    x=7,
                    y=0,
                    width=12,
                    height=12,
                    fill=FORMAT_COLOURS.get(f["format"], _OTHER_FORMAT)[0],
                )
            ),
            _element("span", f["label"]),
            data_format=f["format"],
        )
        for f in formats
    ]
    return _element("ul", *items, class_="compare-legend", aria_label="Formats")
