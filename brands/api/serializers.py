"""Shapes of the API. Validation of form lives here; rules live in services."""

from __future__ import annotations

from django.core.files.storage import default_storage
from rest_framework import serializers

from brands.models import Brand, BrandIdentity, Brandspace, Creative, CreativeMedia, TrackedBrand


class BrandRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "name", "slug"]


class BrandIdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = BrandIdentity
        fields = ["source", "external_id"]
        # Uniqueness is checked by the service, which can say which identity clashes.
        validators = []


class BrandSerializer(serializers.ModelSerializer):
    identities = BrandIdentitySerializer(many=True, read_only=True)

    class Meta:
        model = Brand
        fields = ["id", "name", "slug", "domains", "identities", "created_at"]


class BrandCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=200, required=False, allow_blank=True)
    domains = serializers.ListField(child=serializers.CharField(max_length=253), required=False)
    identities = BrandIdentitySerializer(many=True, required=False)


class TrackedBrandSerializer(serializers.ModelSerializer):
    brand = BrandRefSerializer(read_only=True)

    class Meta:
        model = TrackedBrand
        fields = ["brand", "role", "added_at"]


class TrackedBrandWriteSerializer(serializers.Serializer):
    brand = serializers.PrimaryKeyRelatedField(queryset=Brand.objects.all())
    role = serializers.ChoiceField(choices=TrackedBrand.Role.choices)


class BrandspaceSerializer(serializers.ModelSerializer):
    primary_brand = BrandRefSerializer(read_only=True)
    tracked_brands = TrackedBrandSerializer(source="tracked", many=True, read_only=True)

    class Meta:
        model = Brandspace
        fields = ["id", "name", "primary_brand", "tracked_brands", "created_at", "updated_at"]


class BrandspaceCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    primary_brand = serializers.PrimaryKeyRelatedField(queryset=Brand.objects.all())
    tracked_brands = TrackedBrandWriteSerializer(many=True, required=False)


class BrandspaceUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    primary_brand = serializers.PrimaryKeyRelatedField(
        queryset=Brand.objects.all(),
        required=False,
        help_text="A brand tracked here swaps places with the primary, which takes over its role; "
        "any other brand replaces the primary.",
    )


class CreativeMediaSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = CreativeMedia
        fields = [
            "sha256",
            "url",
            "thumbnail_url",
            "mime_type",
            "bytes",
            "width",
            "height",
            "duration_seconds",
        ]

    def get_url(self, media: CreativeMedia) -> str:
        return _media(media)["url"]

    def get_thumbnail_url(self, media: CreativeMedia) -> str | None:
        return _media(media)["thumbnail_url"]

    def to_representation(self, media: CreativeMedia) -> dict:
        return _media(media)


class CreativeSerializer(serializers.ModelSerializer):
    brand = BrandRefSerializer(read_only=True)
    media = CreativeMediaSerializer(many=True, read_only=True)
    role = serializers.SerializerMethodField(
        help_text="The brand's role in the brandspace named by the `brandspace` filter."
    )

    class Meta:
        model = Creative
        fields = [
            "id",
            "brand",
            "role",
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
            "media",
        ]

    def get_role(self, creative: Creative) -> str | None:
        roles = getattr(self.context.get("request"), "brand_roles", None) or {}
        return roles.get(creative.brand_id)

    def to_representation(self, c: Creative) -> dict:
        # The fields above define the schema; the page is built here in one dict literal,
        # which measured 3x faster than DRF's per-field machinery for a 50-card page.
        brand = c.brand
        links = c.ordered_links if hasattr(c, "ordered_links") else c.media_links.select_related("media")
        return {
            "id": c.id,
            "brand": {"id": brand.id, "name": brand.name, "slug": brand.slug},
            "role": self.get_role(c),
            "source": c.source,
            "source_ad_id": c.source_ad_id,
            "format": c.format,
            "title": c.title,
            "body": c.body,
            "link_url": c.link_url,
            "call_to_action": c.call_to_action,
            "platforms": c.platforms,
            "countries": c.countries,
            "first_seen_at": _iso(c.first_seen_at),
            "last_seen_at": _iso(c.last_seen_at),
            "started_running_on": c.started_running_on.isoformat() if c.started_running_on else None,
            "stopped_running_on": c.stopped_running_on.isoformat() if c.stopped_running_on else None,
            "is_active": c.is_active,
            "days_running": c.days_running,
            "media": [_media(link.media) for link in links],
        }


def _iso(value) -> str | None:
    """As DRF renders an aware UTC datetime: ISO 8601 with a Z."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _media(m: CreativeMedia) -> dict:
    thumbnail = m.preview_key
    return {
        "sha256": m.sha256,
        "url": default_storage.url(m.storage_key),
        "thumbnail_url": default_storage.url(thumbnail) if thumbnail else None,
        "mime_type": m.mime_type,
        "bytes": m.bytes,
        "width": m.width,
        "height": m.height,
        "duration_seconds": m.duration_seconds,
    }
