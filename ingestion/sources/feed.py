"""Customer feeds: a brandspace's own ads, uploaded as a CSV or JSON Lines file.

Format: CSV with a header row (UTF-8, comma separated, fields quoted as usual), or JSON
Lines (one JSON object a line). A name ending in `.csv` is CSV; `.jsonl`, `.ndjson` or
`.json` is JSON Lines; otherwise a file starting with `{` is JSON Lines. Column names
are matched ignoring case, spaces and dashes ("Ad ID" is `ad_id`); unknown columns are
ignored.

Columns:
- `brand` (required): the brand's slug or name, one of the brandspace's brands.
- `ad_id` (required): your id for the ad, unique per brand, at most 200 characters.
- `media_url`: http(s) URL of the image or video; several (a carousel) separated by
  spaces or `|`; in JSON Lines also a list.
- `text`: the ad's body text. A file needs a `media_url` or a `text` column, and each
  row a value in one of them.
- `title`: the headline, at most 500 characters.
- `link`: http(s) URL the ad leads to.
- `call_to_action`: the button text, e.g. "Shop now".
- `start_date`: the first day the ad ran, `YYYY-MM-DD`.
- `end_date`: the last day it ran, `YYYY-MM-DD`; empty while it runs.
- `platform`: where it ran, comma separated (facebook, instagram, youtube, search...).
- `country`: ISO 3166 two-letter codes, comma separated.
- `format`: image, video, carousel or text; when empty it is inferred: no media is text,
  several is carousel, one ending in .mp4, .mov, .webm or .m4v is video, else image.

Each row needs `brand`, `ad_id`, and a `media_url` or `text`. A bad row (missing id, a
URL that is not http(s), a bad date, an unknown format, an ad id repeated for a brand) is
reported with its line number (1-based; in CSV line 1 is the header, and a row spanning
lines is reported at its first line) and skipped; the good rows are kept. A file that is
too big (`FEED_MAX_BYTES`, default 10 MB), has too many rows (`FEED_MAX_ROWS`, default
10,000), is not UTF-8, or lacks a required column is refused whole (`FeedRejected`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from .base import AdRecord, is_http_url

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_ROWS = 10_000
REQUIRED_COLUMNS = ("brand", "ad_id")
CONTENT_COLUMNS = ("media_url", "text")  # a file needs at least one of these
FORMATS = ("image", "video", "carousel", "text")
VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".m4v")
MAX_AD_ID = 200
MAX_TITLE = 500
MAX_ERRORS = 1000  # a file of garbage reports its first errors, not a million of them


class FeedRejected(ValueError):
    """The whole file is refused: nothing in it is ingested."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FeedRowError:
    line: int
    message: str


@dataclass
class FeedParseResult:
    records: list[tuple[str, AdRecord]] = field(default_factory=list)  # (brand slug or name, record)
    errors: list[FeedRowError] = field(default_factory=list)


class _RowInvalid(Exception):
    pass


def _column(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _text(row: dict, key: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if isinstance(value, list | dict):
        raise _RowInvalid(f"{key} must be text")
    return str(value).strip()


def _list(row: dict, key: str, *, separators: str) -> list[str]:
    value = row.get(key)
    if value is None:
        return []
    parts = value if isinstance(value, list) else re.split(separators, str(value))
    return [str(p).strip() for p in parts if str(p).strip()]


def _http_url(value: str, *, column: str) -> str:
    if not is_http_url(value):
        raise _RowInvalid(f"{column} {value[:200]!r} is not an http(s) URL")
    return value


def _date(row: dict, key: str) -> dt.date | None:
    value = _text(row, key)
    if not value:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _RowInvalid(f"{key} {value[:40]!r} is not a date (YYYY-MM-DD)") from None


def _record(row: dict, *, line: int) -> tuple[str, AdRecord]:
    brand = _text(row, "brand")
    if not brand:
        raise _RowInvalid("brand is missing")
    ad_id = _text(row, "ad_id")
    if not ad_id:
        raise _RowInvalid("ad_id is missing")
    if len(ad_id) > MAX_AD_ID:
        raise _RowInvalid(f"ad_id is longer than {MAX_AD_ID} characters")
    media = [_http_url(u, column="media_url") for u in _list(row, "media_url", separators=r"[\s|]+")]
    body = _text(row, "text")
    if not media and not body:
        raise _RowInvalid("a row needs a media_url or text")
    title = _text(row, "title")
    if len(title) > MAX_TITLE:
        raise _RowInvalid(f"title is longer than {MAX_TITLE} characters")
    link = _text(row, "link")
    if link:
        _http_url(link, column="link")
    start, end = _date(row, "start_date"), _date(row, "end_date")
    if start and end and end < start:
        raise _RowInvalid(f"end_date {end} is before start_date {start}")
    countries = [c.upper() for c in _list(row, "country", separators=r"[,\s]+")]
    bad = [c for c in countries if not re.fullmatch(r"[A-Z]{2}", c)]
    if bad:
        raise _RowInvalid(f"country {bad[0]!r} is not a two-letter code")
    fmt = _text(row, "format").lower()
    if fmt and fmt not in FORMATS:
        raise _RowInvalid(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if not fmt:
        if not media:
            fmt = "text"
        elif len(media) > 1:
            fmt = "carousel"
        else:
            fmt = "video" if urlsplit(media[0]).path.lower().endswith(VIDEO_SUFFIXES) else "image"
    return brand, AdRecord(
        source="feed",
        source_ad_id=ad_id,
        format=fmt,
        media_urls=tuple(media),
        body=body,
        title=title,
        link_url=link,
        call_to_action=_text(row, "call_to_action")[:100],
        platforms=tuple(p.lower() for p in _list(row, "platform", separators=r"[,;]")),
        countries=tuple(countries),
        started_running_on=start,
        stopped_running_on=end,
        raw={"line": line, **{k: v for k, v in row.items() if k}},
    )


def _csv_rows(text: str) -> Iterator[tuple[int, dict]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FeedRejected("The file is empty: a CSV feed starts with a header row.") from None
    except csv.Error as exc:
        raise FeedRejected(f"Line 1 (the header) is not valid CSV: {exc}") from None
    columns = [_column(c) for c in header]
    _check_columns(set(columns))
    line = reader.line_num
    while True:
        start = line + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FeedRejected(f"Line {start} is not valid CSV: {exc}") from None
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue  # blank lines
        if len(values) > len(columns):
            yield start, {"__error__": f"has {len(values)} fields but the header has {len(columns)}"}
            continue
        yield start, dict(zip(columns, values, strict=False))


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict]]:
    checked = False
    for number, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        try:
            obj = json.loads(content)
        except ValueError as exc:
            yield number, {"__error__": f"is not valid JSON ({exc.msg})"}
            continue
        if not isinstance(obj, dict):
            yield number, {"__error__": "is not a JSON object"}
            continue
        row = {_column(k): v for k, v in obj.items()}
        if not checked:
            # JSON Lines has no header: the first object names the columns the file uses.
            _check_columns(set(row), where=f"line {number}")
            checked = True
        yield number, row


def _check_columns(columns: set[str], *, where: str = "the header") -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if not any(c in columns for c in CONTENT_COLUMNS):
        missing.append(" or ".join(CONTENT_COLUMNS))
    if missing:
        raise FeedRejected(
            f"Required column{'s' if len(missing) > 1 else ''} missing from {where}: {', '.join(missing)}."
        )


def _is_jsonl(filename: str, text: str) -> bool:
    name = filename.lower()
    if name.endswith(".csv"):
        return False
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return True
    return text.lstrip().startswith("{")


def parse_feed(
    file_bytes: bytes, *, filename: str, max_bytes: int | None = None, max_rows: int | None = None
) -> FeedParseResult:
    """Records from a feed file, and the rows refused with their line numbers.

    Raises `FeedRejected` when the whole file is refused (see the module docstring).
    """
    max_bytes = max_bytes or int(getattr(settings, "FEED_MAX_BYTES", DEFAULT_MAX_BYTES))
    max_rows = max_rows or int(getattr(settings, "FEED_MAX_ROWS", DEFAULT_MAX_ROWS))
    if len(file_bytes) > max_bytes:
        raise FeedRejected(
            f"The file is {len(file_bytes):,} bytes; a feed may be at most {max_bytes:,} bytes. "
            "Split it into smaller files."
        )
    try:
        text = file_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedRejected(f"The file is not UTF-8 text (byte {exc.start} cannot be read).") from None
    rows = _jsonl_rows(text) if _is_jsonl(filename, text) else _csv_rows(text)

    result = FeedParseResult()
    first_line: dict[tuple[str, str], int] = {}
    for count, (line, row) in enumerate(rows, start=1):
        if count > max_rows:
            raise FeedRejected(f"The file has more than {max_rows:,} rows. Split it into smaller files.")
        try:
            if "__error__" in row:
                raise _RowInvalid(row["__error__"])
            brand, record = _record(row, line=line)
            key = (brand.lower(), record.source_ad_id)
            if key in first_line:
                raise _RowInvalid(
                    f"ad_id {record.source_ad_id!r} for brand {brand!r} repeats line {first_line[key]}"
                )
            first_line[key] = line
            result.records.append((brand, record))
        except _RowInvalid as exc:
            if len(result.errors) < MAX_ERRORS:
                result.errors.append(FeedRowError(line=line, message=str(exc)))
    if not result.records and not result.errors:
        raise FeedRejected("The file has no rows.")
    return result
