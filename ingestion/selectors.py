from __future__ import annotations

from django.db.models import Q, QuerySet

from brands.exceptions import NotFound
from brands.models import Brand, Brandspace, TrackedBrand, User
from brands.selectors import membership_for_user
from ingestion.models import IngestionRun, RunItem


def brands_tracked_by_organization(organization_id: int) -> QuerySet[Brand]:
    spaces = Brandspace.objects.filter(organization_id=organization_id)
    return Brand.objects.filter(
        Q(pk__in=spaces.values("primary_brand_id"))
        | Q(pk__in=TrackedBrand.objects.filter(brandspace__in=spaces).values("brand_id"))
    )


def runs_for_user(user: User) -> QuerySet[IngestionRun]:
    """Runs of brands that the user's organization tracks in any brandspace."""
    membership = membership_for_user(user)
    if membership is None:
        return IngestionRun.objects.none()
    brands = brands_tracked_by_organization(membership.organization_id)
    return IngestionRun.objects.filter(brand__in=brands.values("pk")).select_related("brand")


def run_for_user(user: User, run_id) -> IngestionRun:
    try:
        return runs_for_user(user).get(pk=int(run_id))
    except (IngestionRun.DoesNotExist, ValueError, TypeError):
        raise NotFound("Ingestion run not found.") from None


def run_failures(run: IngestionRun, limit: int = 100) -> list[dict]:
    failed = run.items.filter(status=RunItem.Status.FAILED).order_by("id")[:limit]
    return [{"item": i.pk, "url": i.url, "reason": i.failure_reason} for i in failed]


def tracked_brand_ids() -> QuerySet:
    """Every brand some brandspace tracks (primary, competitor or followed)."""
    return Brand.objects.filter(
        Q(pk__in=Brandspace.objects.values("primary_brand_id"))
        | Q(pk__in=TrackedBrand.objects.values("brand_id"))
    ).values_list("pk", flat=True)
