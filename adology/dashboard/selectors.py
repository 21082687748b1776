"""What the dashboard's pages read, in a constant number of queries per page.

Every function takes a brandspace the caller already resolved through
`brands.selectors.brandspace_for_user`, so tenancy is decided once, in the view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q
from django.utils import timezone

from brands.models import Brandspace, Creative
from brands.selectors import brand_roles_in_brandspace, creative_list
from ingestion.models import IngestionRun

ROLE_ORDER = {"primary": 0, "competitor": 1, "followed": 2}
# What a run is doing, in words (live.js uses the same words for live updates).
STAGE_LABELS = {
    "queued": "Queued",
    "gathering": "Gathering ads",
    "acquiring": "Downloading media",
    "committing": "Saving",
    "analyzing": "Analysing",
}
NEW_WINDOW = dt.timedelta(days=7)


def brands_in_brandspace(brandspace: Brandspace) -> list[dict]:
    """{id, name, role} for the primary, then competitors, then followed brands, by name.

    Uses the brandspace's prefetched `tracked` rows and `primary_brand` (no query when the
    brandspace came from `brandspaces_for_user`)."""
    rows = [{"id": brandspace.primary_brand_id, "name": brandspace.primary_brand.name, "role": "primary"}]
    rows += [{"id": t.brand_id, "name": t.brand.name, "role": t.role} for t in brandspace.tracked.all()]
    return sorted(rows, key=lambda row: (ROLE_ORDER[row["role"]], row["name"].lower(), row["id"]))


@dataclass
class BrandSummary:
    id: int
    name: str
    role: str
    total: int = 0
    active: int = 0
    new_this_week: int = 0
    last_seen_at: dt.datetime | None = None
    last_run: IngestionRun | None = None
    active_runs: list[IngestionRun] = field(default_factory=list)

    @property
    def progress(self) -> dict | None:
        """The active runs' media items added up, as the live bar shows them."""
        if not self.active_runs:
            return None
        done = sum(r.items_acquired + r.items_failed for r in self.active_runs)
        total = sum(r.items_expected for r in self.active_runs)
        stage = min((r.status for r in self.active_runs), key=list(STAGE_LABELS).index)
        return {"done": done, "total": total, "stage": stage, "label": STAGE_LABELS[stage]}


def brand_summaries(brandspace: Brandspace, *, brands: list[dict], now: dt.datetime | None = None):
    """One row per brand of the brandspace: ad counts, the last finished run, the active run.

    Three queries: one aggregate over the brands' creatives, two over their runs."""
    now = now or timezone.now()
    ids = [b["id"] for b in brands]
    summaries = {b["id"]: BrandSummary(**b) for b in brands}
    counts = (
        Creative.objects.filter(brand_id__in=ids)
        .values("brand_id")
        .annotate(
            total=Count("id"),
            active=Count("id", filter=Q(is_active=True)),
            new_this_week=Count("id", filter=Q(first_seen_at__gte=now - NEW_WINDOW)),
            last_seen_at=Max("last_seen_at"),
        )
    )
    for row in counts:
        summary = summaries[row.pop("brand_id")]
        for name, value in row.items():
            setattr(summary, name, value)
    # The newest run per brand (any source; PostgreSQL DISTINCT ON), and every active run:
    # a brand has at most one per source, and the overview's progress bar adds them up.
    newest = IngestionRun.objects.filter(brand_id__in=ids).order_by("brand_id", "-queued_at", "-id")
    for run in newest.distinct("brand_id"):
        summaries[run.brand_id].last_run = run
    for run in IngestionRun.objects.filter(brand_id__in=ids, status__in=IngestionRun.ACTIVE_STATUSES):
        summaries[run.brand_id].active_runs.append(run)
    return list(summaries.values())


def latest_creatives(brandspace: Brandspace, *, brand_ids: list[int], limit: int = 12) -> list[Creative]:
    return list(creative_list().filter(brand_id__in=brand_ids).order_by("-first_seen_at", "-id")[:limit])


def creative_in_brandspace(brandspace: Brandspace, creative_id) -> Creative | None:
    """The creative, if its brand is in this brandspace (else None: 404 for the caller)."""
    roles = brand_roles_in_brandspace(brandspace)
    try:
        return creative_list().filter(brand_id__in=list(roles)).get(pk=int(creative_id))
    except (Creative.DoesNotExist, ValueError, TypeError):
        return None
