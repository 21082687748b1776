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
    primary_brand = serializers.PrimaryKeyRelatedField(queryset=Brand.objects.all(), required=False)


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
        return default_storage.url(media.storage_key)

    def get_thumbnail_url(self, media: CreativeMedia) -> str | None:
        key = media.thumbnail_key or (media.storage_key if media.is_image else "")
        return default_storage.url(key) if key else None


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
        return getattr(creative, "role", None) or None
