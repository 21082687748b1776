"""Reads. Every read of private data is scoped to the caller's organization here."""

from __future__ import annotations

from django.db.models import Case, CharField, Func, Prefetch, Q, QuerySet, Value, When

from brands.exceptions import NotFound
from brands.models import Brand, Brandspace, Creative, Membership, TrackedBrand, User


def membership_for_user(user: User) -> Membership | None:
    if not user.is_authenticated:
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def brandspaces_for_user(user: User) -> QuerySet[Brandspace]:
    membership = membership_for_user(user)
    if membership is None:
        return Brandspace.objects.none()
    return (
        Brandspace.objects.filter(organization_id=membership.organization_id)
        .select_related("primary_brand")
        .prefetch_related(Prefetch("tracked", queryset=TrackedBrand.objects.select_related("brand")))
    )


def brandspace_for_user(user: User, brandspace_id) -> Brandspace:
    """The brandspace, or NotFound: another organization's brandspace does not exist for you."""
    try:
        return brandspaces_for_user(user).get(pk=int(brandspace_id))
    except (Brandspace.DoesNotExist, ValueError, TypeError):
        raise NotFound("Brandspace not found.") from None


def brand_roles_in_brandspace(brandspace: Brandspace) -> dict[int, str]:
    """brand id -> role ("primary", "competitor", "followed") in this brandspace."""
    roles = {t.brand_id: t.role for t in brandspace.tracked.all()}
    roles[brandspace.primary_brand_id] = "primary"
    return roles


def brand_search(*, q: str = "") -> QuerySet[Brand]:
    brands = Brand.objects.prefetch_related("identities")
    q = q.strip()
    if q:
        brands = brands.annotate(
            domain_text=Func("domains", Value(" "), function="array_to_string", output_field=CharField())
        ).filter(Q(name__icontains=q) | Q(slug__icontains=q) | Q(domain_text__icontains=q.lower()))
    return brands.order_by("name", "id")


def creative_list() -> QuerySet[Creative]:
    """Creatives with what a card shows, in a constant number of queries."""
    return Creative.objects.select_related("brand").prefetch_related("media")


def with_brand_roles(creatives: QuerySet[Creative], roles: dict[int, str]) -> QuerySet[Creative]:
    """Annotate each creative with its brand's role in a brandspace (see brand_roles_in_brandspace)."""
    return creatives.annotate(
        role=Case(
            *[When(brand_id=brand_id, then=Value(role)) for brand_id, role in roles.items()],
            default=Value(""),
            output_field=CharField(),
        )
    )
