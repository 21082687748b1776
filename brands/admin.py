from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.files.storage import default_storage
from django.utils.html import format_html, format_html_join

from brands.models import (
    Brand,
    BrandIdentity,
    Brandspace,
    Creative,
    CreativeMedia,
    CreativeMediaLink,
    Membership,
    Organization,
    TrackedBrand,
    User,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Pipeline-owned data: admins look, the pipeline writes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name", "memberships__user__email"]
    inlines = [MembershipInline]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "organization", "role", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "is_superuser", "membership__role"]
    list_select_related = ["membership__organization"]
    search_fields = ["email", "full_name", "membership__organization__name"]
    fieldsets = (
        (None, {"fields": ("email", "password", "full_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    @admin.display(ordering="membership__organization__name")
    def organization(self, user):
        return getattr(getattr(user, "membership", None), "organization", "—")

    @admin.display(ordering="membership__role")
    def role(self, user):
        return getattr(getattr(user, "membership", None), "role", "—")


class TrackedBrandInline(admin.TabularInline):
    model = TrackedBrand
    extra = 0
    autocomplete_fields = ["brand"]


@admin.register(Brandspace)
class BrandspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "primary_brand", "created_at"]
    list_filter = ["organization"]
    list_select_related = ["organization", "primary_brand"]
    search_fields = ["name", "organization__name", "primary_brand__name"]
    autocomplete_fields = ["primary_brand", "organization", "created_by"]
    inlines = [TrackedBrandInline]


class BrandIdentityInline(admin.TabularInline):
    model = BrandIdentity
    extra = 0


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "domain_list", "created_at"]
    search_fields = ["name", "slug", "identities__external_id"]
    list_filter = ["identities__source"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [BrandIdentityInline]

    @admin.display(description="domains")
    def domain_list(self, brand):
        return ", ".join(brand.domains)


def _thumbnail(media: CreativeMedia):
    key = media.thumbnail_key or (media.storage_key if media.is_image else "")
    if not key:
        return media.mime_type
    return format_html(
        '<img src="{}" loading="lazy" width="96" style="height:auto" alt="">',
        default_storage.url(key),
    )


class CreativeMediaLinkInline(admin.TabularInline):
    model = CreativeMediaLink
    fields = ["position", "media", "preview"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def preview(self, link):
        return _thumbnail(link.media)


@admin.register(Creative)
class CreativeAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "thumbnails", "format", "is_active", "days_running", "first_seen_at"]
    list_filter = ["source", "format", "is_active", "brand"]
    list_select_related = ["brand"]
    search_fields = ["source_ad_id", "title", "body", "brand__name"]
    date_hierarchy = "first_seen_at"
    inlines = [CreativeMediaLinkInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("media")

    def thumbnails(self, creative):
        return format_html_join(" ", "{}", ((_thumbnail(m),) for m in list(creative.media.all())[:3]))


@admin.register(CreativeMedia)
class CreativeMediaAdmin(ReadOnlyAdmin):
    list_display = ["sha256", "preview", "mime_type", "bytes", "width", "height", "created_at"]
    list_filter = ["mime_type"]
    search_fields = ["sha256", "storage_key"]

    def preview(self, media):
        return _thumbnail(media)
