"""A run acquires one brand's ads from one source, through the pipeline's phases."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from brands.models import Brand, Source


class IngestionRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        GATHERING = "gathering", "Gathering"
        ACQUIRING = "acquiring", "Acquiring"
        COMMITTING = "committing", "Committing"
        ANALYZING = "analyzing", "Analyzing"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partial"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATUSES = (
        Status.QUEUED,
        Status.GATHERING,
        Status.ACQUIRING,
        Status.COMMITTING,
        Status.ANALYZING,
    )

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="ingestion_runs")
    source = models.CharField(max_length=10, choices=Source.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    failure_reason = models.TextField(blank=True)

    items_expected = models.PositiveIntegerField(default=0)
    items_acquired = models.PositiveIntegerField(default=0)
    items_failed = models.PositiveIntegerField(default=0)
    creatives_committed = models.PositiveIntegerField(default=0)

    queued_at = models.DateTimeField(auto_now_add=True)
    gathering_at = models.DateTimeField(null=True, blank=True)
    acquiring_at = models.DateTimeField(null=True, blank=True)
    committing_at = models.DateTimeField(null=True, blank=True)
    analyzing_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            # One active run per brand and source, however many workers and requests.
            models.UniqueConstraint(
                fields=["brand", "source"],
                condition=Q(status__in=["queued", "gathering", "acquiring", "committing", "analyzing"]),
                name="one_active_run_per_brand_source",
            )
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="run_status_idx")]

    def __str__(self) -> str:
        return f"run {self.pk} {self.brand} {self.source} {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class IngestRequest(models.Model):
    """One POST .../ingest, remembered under its Idempotency-Key so a repeat gets the same runs."""

    brandspace = models.ForeignKey("brands.Brandspace", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    idempotency_key = models.CharField(max_length=200)
    runs = models.ManyToManyField(IngestionRun, related_name="requests")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"], name="ingest_request_idempotency"
            )
        ]

    def __str__(self) -> str:
        return f"ingest request {self.idempotency_key}"


class RunAd(models.Model):
    """An ad gathered by a run and waiting to be committed as a Creative."""

    run = models.ForeignKey(IngestionRun, on_delete=models.CASCADE, related_name="ads")
    source_ad_id = models.CharField(max_length=200)
    record = models.JSONField()  # the AdRecord's fields, without raw
    creative = models.ForeignKey(
        "brands.Creative", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_creative = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "source_ad_id"], name="run_ad_once_per_run")]

    def __str__(self) -> str:
        return f"run {self.run_id} ad {self.source_ad_id}"


class RunItem(models.Model):
    """One media URL of a run: downloaded, hashed, archived and embedded by acquire_batch."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACQUIRED = "acquired", "Acquired"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(IngestionRun, on_delete=models.CASCADE, related_name="items")
    ad = models.ForeignKey(RunAd, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    url = models.URLField(max_length=4000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    sha256 = models.CharField(max_length=64, blank=True)
    storage_key = models.CharField(max_length=300, blank=True)
    mime_type = models.CharField(max_length=100, blank=True)
    bytes = models.BigIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    perceptual_hash = models.CharField(max_length=16, blank=True)
    thumbnail_key = models.CharField(max_length=300, blank=True)
    embedding = models.BinaryField(null=True, blank=True)
    embedding_model = models.CharField(max_length=100, blank=True)
    features = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["ad", "position"], name="run_item_once_per_ad_position")
        ]
        indexes = [models.Index(fields=["run", "status"], name="run_item_status_idx")]

    def __str__(self) -> str:
        return f"run {self.run_id} item {self.pk} {self.status}"
