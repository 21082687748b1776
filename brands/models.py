"""The contextual data model.

Organizations, their users and their brandspaces are private to one customer.
Brands, their creatives and media are shared by every customer: an ad is acquired
once, however many brandspaces track its brand.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Source(models.TextChoices):
    META = "meta", "Meta Ad Library"
    GOOGLE = "google", "Google Ads Transparency Center"
    FEED = "feed", "Customer feed"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May sign in to the admin site.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class Organization(models.Model):
    """A customer account."""

    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """Ties a user to the one organization they belong to, with a role."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    WRITER_ROLES = (Role.OWNER, Role.ADMIN)

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} ({self.role} of {self.organization})"

    @property
    def can_write(self) -> bool:
        return self.role in self.WRITER_ROLES


class Brand(models.Model):
    """An advertiser, shared by every customer."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    domains = ArrayField(models.CharField(max_length=253), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(models.functions.Upper("name"), name="brand_name_upper_idx"),
            GinIndex(fields=["domains"], name="brand_domains_gin"),
        ]

    def __str__(self) -> str:
        return self.name


class BrandIdentity(models.Model):
    """How a source names a brand: a Meta page id, a Google advertiser id."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="identities")
    source = models.CharField(
        max_length=10, choices=[(Source.META, "Meta page id"), (Source.GOOGLE, "Google advertiser id")]
    )
    external_id = models.CharField(max_length=100)

    class Meta:
        verbose_name_plural = "brand identities"
        ordering = ["source", "external_id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="brand_identity_unique_per_source")
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class Brandspace(models.Model):
    """An organization's view of a market: one primary brand and the brands it tracks."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="brandspaces")
    name = models.CharField(max_length=200)
    primary_brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="brandspace_name_unique_per_org")
        ]

    def __str__(self) -> str:
        return self.name


class TrackedBrand(models.Model):
    class Role(models.TextChoices):
        COMPETITOR = "competitor", "Competitor"
        FOLLOWED = "followed", "Followed"

    brandspace = models.ForeignKey(Brandspace, on_delete=models.CASCADE, related_name="tracked")
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="tracked_in")
    role = models.CharField(max_length=12, choices=Role.choices)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["role", "brand__name"]
        constraints = [
            models.UniqueConstraint(fields=["brandspace", "brand"], name="tracked_brand_once_per_brandspace")
        ]

    def __str__(self) -> str:
        return f"{self.brand} ({self.role})"


class CreativeMedia(models.Model):
    """One media file, archived once and addressed by its content hash."""

    sha256 = models.CharField(max_length=64, unique=True)
    storage_key = models.CharField(max_length=300)
    mime_type = models.CharField(max_length=100)
    bytes = models.BigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    perceptual_hash = models.CharField(max_length=16, blank=True)
    thumbnail_key = models.CharField(max_length=300, blank=True)
    # float32 vector from the intelligence provider, kept so the FAISS index can be rebuilt.
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    embedding_model = models.CharField(max_length=100, blank=True)
    # The AI provider's description of the picture (colours, text density...), made at acquire.
    features = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "creative media"

    def __str__(self) -> str:
        return f"{self.mime_type} {self.sha256[:12]}"

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")

    @property
    def preview_key(self) -> str:
        """The stored picture that stands for this media: its thumbnail (a video's keyframe),
        else the image itself; "" when there is none."""
        return self.thumbnail_key or (self.storage_key if self.is_image else "")


class Creative(models.Model):
    """One ad as a source shows it."""

    class Format(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"
        TEXT = "text", "Text"
        CAROUSEL = "carousel", "Carousel"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="creatives")
    source = models.CharField(max_length=10, choices=Source.choices)
    source_ad_id = models.CharField(max_length=200)
    format = models.CharField(max_length=10, choices=Format.choices)
    body = models.TextField(blank=True)
    title = models.CharField(max_length=500, blank=True)
    link_url = models.URLField(max_length=2000, blank=True)
    call_to_action = models.CharField(max_length=100, blank=True)
    platforms = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    countries = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    started_running_on = models.DateField(null=True, blank=True)
    stopped_running_on = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    days_running = models.PositiveIntegerField(default=0)
    media = models.ManyToManyField(
        CreativeMedia, through="CreativeMediaLink", related_name="creatives", blank=True
    )

    class Meta:
        ordering = ["-first_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "source", "source_ad_id"], name="creative_unique_per_source"
            )
        ]
        indexes = [
            # The explorer's two orderings, alone and within a brand.
            models.Index(fields=["-first_seen_at", "-id"], name="creative_newest_idx"),
            models.Index(fields=["brand", "-first_seen_at", "-id"], name="creative_brand_newest_idx"),
            models.Index(fields=["-days_running", "-id"], name="creative_longest_idx"),
            models.Index(fields=["brand", "-days_running", "-id"], name="creative_brand_longest_idx"),
            GinIndex(fields=["platforms"], name="creative_platforms_gin"),
            models.Index(
                fields=["brand", "last_seen_at"],
                condition=Q(is_active=True),
                name="creative_active_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand} {self.source}:{self.source_ad_id}"


class CreativeMediaLink(models.Model):
    """A creative's media in order (a carousel has several; one file may serve many ads)."""

    creative = models.ForeignKey(Creative, on_delete=models.CASCADE, related_name="media_links")
    media = models.ForeignKey(CreativeMedia, on_delete=models.PROTECT, related_name="links")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["creative", "position"], name="creative_media_position")
        ]

    def __str__(self) -> str:
        return f"{self.creative_id} #{self.position}: {self.media_id}"
