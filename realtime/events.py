"""The one schema of what /ws/ sends. Every server -> client frame is built here.

Envelope (JSON): {"type", "version", "time", "brandspace", "payload"}. `version` changes only
when a payload changes incompatibly; clients ignore types they do not know.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from django.core.files.storage import default_storage
from django.utils import timezone

from brands.models import Creative, CreativeMedia
from ingestion.models import IngestionRun

VERSION = 1


class EventType(StrEnum):
    # Broadcast to a brandspace's group.
    RUN_QUEUED = "run.queued"
    RUN_PROGRESS = "run.progress"
    RUN_COMMITTED = "run.committed"
    RUN_FINISHED = "run.finished"
    CREATIVE_NEW = "creative.new"
    ANALYSIS_READY = "analysis.ready"
    # Sent to one socket.
    SNAPSHOT = "snapshot"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    ERROR = "error"


BROADCAST_TYPES = frozenset(
    {
        EventType.RUN_QUEUED,
        EventType.RUN_PROGRESS,
        EventType.RUN_COMMITTED,
        EventType.RUN_FINISHED,
        EventType.CREATIVE_NEW,
        EventType.ANALYSIS_READY,
    }
)
FINISHED_STATUSES = frozenset(
    {
        IngestionRun.Status.SUCCEEDED,
        IngestionRun.Status.PARTIAL,
        IngestionRun.Status.FAILED,
        IngestionRun.Status.CANCELLED,
    }
)


def envelope(event_type: EventType, *, brandspace_id: int | None, payload: dict[str, Any]) -> dict:
    return {
        "type": str(event_type),
        "version": VERSION,
        "time": timezone.now().isoformat(),
        "brandspace": brandspace_id,
        "payload": payload,
    }


def encode(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"), default=str)


# --- payloads ---------------------------------------------------------------------------------


def _brand(run_or_creative) -> dict:
    return {"id": run_or_creative.brand_id, "name": run_or_creative.brand.name}


def run_payload(run: IngestionRun, *, role: str) -> dict:
    """A run as every run.* event and the snapshot show it."""
    return {
        "run": run.pk,
        "brand": _brand(run),
        "role": role,
        "source": run.source,
        "status": run.status,
        "queued_at": run.queued_at.isoformat() if run.queued_at else None,
    }


def progress_payload(run: IngestionRun, *, role: str, stage: str | None = None) -> dict:
    """stage: gathering or acquiring; done/failed/total: media items acquired, failed, expected."""
    return {
        **run_payload(run, role=role),
        "stage": stage or run.status,
        "done": run.items_acquired,
        "failed": run.items_failed,
        "total": run.items_expected,
    }


def committed_payload(run: IngestionRun, *, role: str, new: int, updated: int) -> dict:
    return {**progress_payload(run, role=role), "new": new, "updated": updated}


def finished_payload(run: IngestionRun, *, role: str) -> dict:
    return {
        **progress_payload(run, role=role),
        "outcome": run.status,  # succeeded, partial, failed or cancelled
        "reason": run.failure_reason,
        "creatives_committed": run.creatives_committed,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def thumbnail_url(media: CreativeMedia | None) -> str | None:
    if media is None:
        return None
    key = media.preview_key
    return default_storage.url(key) if key else None


def creative_payload(
    creative: Creative, *, role: str, run_id: int, first_media: CreativeMedia | None
) -> dict:
    return {
        "id": creative.pk,
        "brand": _brand(creative),
        "role": role,
        "source": creative.source,
        "format": creative.format,
        "title": creative.title,
        "thumbnail_url": thumbnail_url(first_media),
        "run": run_id,
    }


def analysis_payload(run: IngestionRun, *, role: str, creative_ids: list[int]) -> dict:
    return {"run": run.pk, "brand": _brand(run), "role": role, "creatives": list(creative_ids)}


def snapshot_payload(runs: list[dict]) -> dict:
    """The brandspace's active runs (progress_payload each) when the client subscribed."""
    return {"runs": runs}


def error_payload(code: str, message: str) -> dict:
    return {"code": code, "message": message}
