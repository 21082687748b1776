"""Reads. Every read of private data is scoped to the caller's organization here."""

from __future__ import annotations

from django.db.models import CharField, Func, Prefetch, Q, QuerySet, Value

from brands.exceptions import NotFound
from brands.models import Brand, Brandspace, Creative, CreativeMediaLink, Membership, TrackedBrand, User


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


# What a creative card shows of its media; the stored embedding stays in the database.
_MEDIA_COLUMNS = (
    "creative",
    "position",
    "media__sha256",
    "media__storage_key",
    "media__thumbnail_key",
    "media__mime_type",
    "media__bytes",
    "media__width",
    "media__height",
    "media__duration_seconds",
)


def creative_list() -> QuerySet[Creative]:
    """Creatives with what a card shows, in a constant number of queries.

    Media come through their links in carousel order, as `creative.ordered_links`.
    """
    links = CreativeMediaLink.objects.select_related("media").only(*_MEDIA_COLUMNS).order_by("position")
    return Creative.objects.select_related("brand").prefetch_related(
        Prefetch("media_links", queryset=links, to_attr="ordered_links")
    )


def brand_roles_for_user(user: User, brandspace_id: int) -> dict[int, str]:
    """brand id -> role in a brandspace of the user's organization, in one query.

    Raises NotFound for another organization's brandspace, as for one that does not exist.
    """
    membership = membership_for_user(user)
    if membership is None:
        raise NotFound("Brandspace not found.")
    rows = Brandspace.objects.filter(
        pk=brandspace_id, organization_id=membership.organization_id
    ).values_list("primary_brand_id", "tracked__brand_id", "tracked__role")
    roles: dict[int, str] = {}
    for primary_id, brand_id, role in rows:
        if brand_id is not None:
            roles[brand_id] = role
        roles[primary_id] = "primary"
    if not roles:
        raise NotFound("Brandspace not found.")
    return roles
