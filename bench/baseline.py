"""The baseline the creatives API is measured against.

The same page as `GET /api/creatives/?brandspace=…` (same rows, same fields, same order,
50 rows) built the plainest way Django allows: one query for the brandspace's brands and
their roles, one `.values()` query for the rows, one for their media, and a JsonResponse.
No authentication, throttling, filterset or serializer: it is the floor the API's
machinery is compared with.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import JsonResponse
from django.http.request import QueryDict

from brands.models import Brandspace, Creative, CreativeMediaLink

PAGE_SIZE = 50

# ordering name -> the column the page is sorted on (descending, then -id), as in
# brands.api.pagination.CreativeCursorPagination.
ORDERINGS = {"newest": "first_seen_at", "longest_running": "days_running"}

CREATIVE_FIELDS = (
    "id",
    "brand_id",
    "brand__name",
    "brand__slug",
    "source",
    "source_ad_id",
    "format",
    "title",
    "body",
    "link_url",
    "call_to_action",
    "platforms",
    "countries",
    "first_seen_at",
    "last_seen_at",
    "started_running_on",
    "stopped_running_on",
    "is_active",
    "days_running",
)

MEDIA_FIELDS = (
    "creative_id",
    "media__sha256",
    "media__storage_key",
    "media__thumbnail_key",
    "media__mime_type",
    "media__bytes",
    "media__width",
    "media__height",
    "media__duration_seconds",
)


def brand_roles(brandspace_id: int) -> dict[int, str]:
    """brand id -> role in the brandspace, in one query (a LEFT JOIN onto its tracked brands)."""
    roles: dict[int, str] = {}
    rows = Brandspace.objects.filter(pk=brandspace_id).values_list(
        "primary_brand_id", "tracked__brand_id", "tracked__role"
    )
    for primary_id, brand_id, role in rows:
        if brand_id is not None:
            roles[brand_id] = role
        roles[primary_id] = "primary"
    return roles


def page_rows(brand_ids, *, ordering: str = "newest", after: tuple | None = None) -> list[dict]:
    """The bare `.values()` query: one page plus one row (to know whether there is a next page)."""
    column = ORDERINGS[ordering]
    rows = Creative.objects.filter(brand_id__in=list(brand_ids))
    if after is not None:
        # Keyset on the sort key and id, as the index (key DESC, id DESC) is laid out.
        rows = rows.extra(where=[f"(brands_creative.{column}, brands_creative.id) < (%s, %s)"], params=after)
    return list(rows.order_by(f"-{column}", "-id").values(*CREATIVE_FIELDS)[: PAGE_SIZE + 1])


def _datetime(value):
    # DRF's DateTimeField writes UTC as "Z"; do the same so the pages compare equal.
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _date(value):
    return value.isoformat() if value is not None else None


def media_by_creative(creative_ids) -> dict[int, list[dict]]:
    media: dict[int, list[dict]] = {}
    rows = (
        CreativeMediaLink.objects.filter(creative_id__in=list(creative_ids))
        .order_by("creative_id", "position")
        .values_list(*MEDIA_FIELDS)
    )
    for creative_id, sha, key, thumb, mime, size, width, height, duration in rows:
        thumbnail = thumb or (key if mime.startswith("image/") else "")
        media.setdefault(creative_id, []).append(
            {
                "sha256": sha,
                "url": default_storage.url(key),
                "thumbnail_url": default_storage.url(thumbnail) if thumbnail else None,
                "mime_type": mime,
                "bytes": size,
                "width": width,
                "height": height,
                "duration_seconds": duration,
            }
        )
    return media


def build_page(brandspace_id: int, *, ordering: str = "newest", after: tuple | None = None):
    """(results, next key or None): the page as the API shapes it."""
    roles = brand_roles(brandspace_id)
    rows = page_rows(roles, ordering=ordering, after=after)
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    media = media_by_creative(r["id"] for r in rows)
    results = [
        {
            "id": r["id"],
            "brand": {"id": r["brand_id"], "name": r["brand__name"], "slug": r["brand__slug"]},
            "role": roles.get(r["brand_id"]) or None,
            "source": r["source"],
            "source_ad_id": r["source_ad_id"],
            "format": r["format"],
            "title": r["title"],
            "body": r["body"],
            "link_url": r["link_url"],
            "call_to_action": r["call_to_action"],
            "platforms": r["platforms"],
            "countries": r["countries"],
            "first_seen_at": _datetime(r["first_seen_at"]),
            "last_seen_at": _datetime(r["last_seen_at"]),
            "started_running_on": _date(r["started_running_on"]),
            "stopped_running_on": _date(r["stopped_running_on"]),
            "is_active": r["is_active"],
            "days_running": r["days_running"],
            "media": media.get(r["id"], []),
        }
        for r in rows
    ]
    next_key = None
    if has_next and rows:
        last = rows[-1]
        next_key = (last[ORDERINGS[ordering]], last["id"])
    return results, next_key


def baseline_creatives(request):
    """GET ?brandspace=ID[&ordering=newest|longest_running][&after=KEY,ID]"""
    try:
        brandspace_id = int(request.GET["brandspace"])
        ordering = request.GET.get("ordering", "newest")
        if ordering not in ORDERINGS:
            raise ValueError(ordering)
        after = None
        if request.GET.get("after"):
            key, _, last_id = request.GET["after"].rpartition(",")
            after = (key, int(last_id))
    except (KeyError, ValueError):
        return JsonResponse(
            {"error": "brandspace=ID, ordering=newest|longest_running, after=KEY,ID"}, status=400
        )
    results, next_key = build_page(brandspace_id, ordering=ordering, after=after)
    next_url = None
    if next_key is not None:
        query = QueryDict(mutable=True)
        query.update({"brandspace": str(brandspace_id), "ordering": ordering})
        key = next_key[0].isoformat() if hasattr(next_key[0], "isoformat") else str(next_key[0])
        query["after"] = f"{key},{next_key[1]}"
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    # Compact separators, as DRF's JSONRenderer writes them, so both pages are the same bytes.
    return JsonResponse(
        {"next": next_url, "previous": None, "results": results},
        json_dumps_params={"separators": (",", ":")},
    )
