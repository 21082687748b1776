"""Creatives as the dashboard shows them: one plain dict per card, built in Python."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from django.core.files.storage import default_storage

from brands.models import Creative, CreativeMedia

FORMAT_LABELS = dict(Creative.Format.choices)


def _links(creative: Creative) -> list:
    """The creative's media links in carousel order (prefetched by creative_list())."""
    links = getattr(creative, "ordered_links", None)
    if links is None:
        links = list(creative.media_links.select_related("media").order_by("position"))
    return links


def _thumbnail(media: CreativeMedia) -> dict | None:
    key = media.preview_key
    if not key:
        return None
    # Video keyframes keep the video's shape, so the media's size gives the box its ratio.
    return {"url": default_storage.url(key), "width": media.width or 400, "height": media.height or 300}


def card(creative: Creative, roles: dict[int, str]) -> dict:
    links = _links(creative)
    first = links[0].media if links else None
    return {
        "id": creative.id,
        "brand": {"id": creative.brand_id, "name": creative.brand.name},
        "role": roles.get(creative.brand_id, ""),
        "format": creative.format,
        "format_label": FORMAT_LABELS.get(creative.format, creative.format),
        "title": creative.title,
        "body": creative.body,
        "platforms": creative.platforms,
        "days_running": creative.days_running,
        "is_active": creative.is_active,
        "first_seen_at": creative.first_seen_at,
        "media_count": len(links),
        "thumbnail": _thumbnail(first) if first else None,
    }


def media_items(creative: Creative) -> list[dict]:
    """Every media file of an ad, in carousel order, for the detail page."""
    items = []
    for link in _links(creative):
        media = link.media
        items.append(
            {
                "url": default_storage.url(media.storage_key),
                "mime_type": media.mime_type,
                "is_video": media.mime_type.startswith("video/"),
                "is_image": media.mime_type.startswith("image/"),
                "width": media.width,
                "height": media.height,
                "duration_seconds": media.duration_seconds,
                "bytes": media.bytes,
                "poster": _thumbnail(media),
            }
        )
    return items


def source_link(creative: Creative) -> str | None:
    """Where a person can see the ad at its source (the public ad libraries)."""
    ad_id = quote(creative.source_ad_id, safe="")
    if creative.source == "meta":
        return f"https://www.facebook.com/ads/library/?id={ad_id}"
    if creative.source == "google":
        identities = creative.brand.identities.filter(source="google")
        advertiser = identities.values_list("external_id", flat=True).first()
        if advertiser:
            return (
                f"https://adstransparency.google.com/advertiser/{advertiser}/creative/{creative.source_ad_id}"
            )
    return None  # customer feeds have no public page


def landing_page(creative: Creative) -> str | None:
    """The ad's link, only when it is an http(s) URL: a source's `javascript:` link must never
    become a clickable href."""
    url = creative.link_url
    parts = urlsplit(url) if url else None
    return url if parts and parts.scheme.lower() in ("http", "https") and parts.netloc else None
