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
