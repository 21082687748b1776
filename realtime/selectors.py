"""Reads for the realtime layer: who may hear about what."""

from __future__ import annotations

from brands.models import Brandspace, TrackedBrand, User
from brands.selectors import brand_roles_in_brandspace, brandspaces_for_user, membership_for_user
from ingestion.models import IngestionRun


def brandspace_roles_for_brand(brand_id: int) -> dict[int, str]:
    """brandspace id -> the brand's role there, for every brandspace (any organization) tracking it."""
    roles = {
        t.brandspace_id: t.role
        for t in TrackedBrand.objects.filter(brand_id=brand_id).only("brandspace_id", "role")
    }
    for brandspace_id in Brandspace.objects.filter(primary_brand_id=brand_id).values_list("pk", flat=True):
        roles[brandspace_id] = "primary"  # the primary role wins over a tracked one
    return roles


def brandspace_ids_for_user(user: User) -> set[int] | None:
    """The brandspaces the user may subscribe to; None when the user belongs to no organization."""
    if not user.is_active or membership_for_user(user) is None:
        return None
    return set(brandspaces_for_user(user).values_list("pk", flat=True))


def active_runs_by_brandspace(brandspace_ids: set[int]) -> dict[int, list[tuple[IngestionRun, str]]]:
    """Each brandspace's active runs with the run's brand role there (for the snapshot)."""
    spaces = brandspaces_for_brandspace_ids(brandspace_ids)
    roles_by_space = {space.pk: brand_roles_in_brandspace(space) for space in spaces}
    brand_ids = {brand_id for roles in roles_by_space.values() for brand_id in roles}
    runs = list(
        IngestionRun.objects.filter(brand_id__in=brand_ids, status__in=IngestionRun.ACTIVE_STATUSES)
        .select_related("brand")
        .order_by("queued_at", "id")
    )
    return {
        space_id: [(run, roles[run.brand_id]) for run in runs if run.brand_id in roles]
        for space_id, roles in roles_by_space.items()
    }


def brandspaces_for_brandspace_ids(brandspace_ids: set[int]) -> list[Brandspace]:
    return list(Brandspace.objects.filter(pk__in=brandspace_ids).prefetch_related("tracked"))
