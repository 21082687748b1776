"""Writes. Views, admin actions and commands call these; they hold the rules."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from brands.exceptions import Conflict, DomainError, NotFound, PermissionDenied
from brands.models import (
    Brand,
    BrandIdentity,
    Brandspace,
    Membership,
    Organization,
    TrackedBrand,
    User,
)
from brands.selectors import membership_for_user

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def require_writer(user: User) -> Membership:
    membership = membership_for_user(user)
    if membership is None or not membership.can_write:
        raise PermissionDenied("Only an organization's owners and admins may change this.")
    return membership


# --- organizations and users -------------------------------------------------------


@transaction.atomic
def organization_create(*, name: str, owner_email: str, owner_password: str) -> Organization:
    name = name.strip()
    if not name:
        raise DomainError("An organization needs a name.", field="name")
    if Organization.objects.filter(name__iexact=name).exists():
        raise Conflict(f"An organization named {name!r} exists already.", field="name")
    organization = Organization.objects.create(name=name)
    member_create(
        organization=organization,
        email=owner_email,
        password=owner_password,
        role=Membership.Role.OWNER,
    )
    return organization


@transaction.atomic
def member_create(
    *, organization: Organization, email: str, password: str, role: str, full_name: str = ""
) -> User:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(f"A user with email {email} exists already.", field="email")
    if role not in Membership.Role.values:
        raise DomainError(f"Unknown role {role!r}.", field="role")
    user = User.objects.create_user(email=email, password=password, full_name=full_name)
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


# --- brands ---------------------------------------------------------------------------


def _clean_domains(domains: Iterable[str]) -> list[str]:
    cleaned = []
    for raw in domains:
        domain = raw.strip().lower().removeprefix("https://").removeprefix("http://")
        domain = domain.removeprefix("www.").rstrip("/")
        if not _DOMAIN_RE.match(domain):
            raise DomainError(f"{raw!r} is not a domain name.", field="domains")
        if domain not in cleaned:
            cleaned.append(domain)
    return cleaned


def _unique_slug(name: str) -> str:
    base = slugify(name)[:180] or "brand"
    slug, n = base, 2
    while Brand.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def brand_create(
    *,
    user: User | None,
    name: str,
    slug: str = "",
    domains: Iterable[str] = (),
    identities: Iterable[dict] = (),
) -> Brand:
    """Add a brand to the shared catalog. `user=None` is for trusted callers (commands)."""
    if user is not None:
        require_writer(user)
    name = name.strip()
    if not name:
        raise DomainError("A brand needs a name.", field="name")
    if slug and Brand.objects.filter(slug=slug).exists():
        raise Conflict(f"The slug {slug!r} is taken.", field="slug")
    identities = list(identities)
    seen = set()
    for identity in identities:
        key = (identity["source"], str(identity["external_id"]).strip())
        if key in seen or BrandIdentity.objects.filter(source=key[0], external_id=key[1]).exists():
            raise Conflict(f"The {key[0]} id {key[1]} belongs to a brand already.", field="identities")
        seen.add(key)
    brand = Brand.objects.create(name=name, slug=slug or _unique_slug(name), domains=_clean_domains(domains))
    try:
        with transaction.atomic():
            BrandIdentity.objects.bulk_create(
                BrandIdentity(brand=brand, source=source, external_id=external_id)
                for source, external_id in seen
            )
    except IntegrityError:  # lost a race with another request claiming the same id
        raise Conflict("One of these identities belongs to a brand already.", field="identities") from None
    return brand


# --- brandspaces ----------------------------------------------------------------------


def _lock_brandspace(user: User, brandspace_id) -> Brandspace:
    membership = membership_for_user(user)
    if membership is None:
        raise NotFound("Brandspace not found.")
    try:
        brandspace = Brandspace.objects.select_for_update().get(
            pk=int(brandspace_id), organization_id=membership.organization_id
        )
    except (Brandspace.DoesNotExist, ValueError, TypeError):
        raise NotFound("Brandspace not found.") from None
    if not membership.can_write:
        raise PermissionDenied("Only an organization's owners and admins may change a brandspace.")
    return brandspace


def _check_name_free(organization_id: int, name: str, exclude_id: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise DomainError("A brandspace needs a name.", field="name")
    clash = Brandspace.objects.filter(organization_id=organization_id, name__iexact=name)
    if exclude_id:
        clash = clash.exclude(pk=exclude_id)
    if clash.exists():
        raise Conflict(f"Your organization has a brandspace named {name!r} already.", field="name")
    return name


@transaction.atomic
def brandspace_create(
    *, user: User, name: str, primary_brand: Brand, tracked: Iterable[dict] = ()
) -> Brandspace:
    membership = require_writer(user)
    name = _check_name_free(membership.organization_id, name)
    tracked = list(tracked)
    brand_ids = [t["brand"].pk for t in tracked]
    if primary_brand.pk in brand_ids:
        raise DomainError(
            "The primary brand cannot also be a competitor or followed brand.", field="tracked_brands"
        )
    if len(set(brand_ids)) != len(brand_ids):
        raise DomainError("A brand appears at most once in a brandspace.", field="tracked_brands")
    brandspace = Brandspace.objects.create(
        organization_id=membership.organization_id,
        name=name,
        primary_brand=primary_brand,
        created_by=user,
    )
    TrackedBrand.objects.bulk_create(
        TrackedBrand(brandspace=brandspace, brand=t["brand"], role=t["role"]) for t in tracked
    )
    return brandspace


@transaction.atomic
def brandspace_update(
    *, user: User, brandspace_id, name: str | None = None, primary_brand: Brand | None = None
) -> Brandspace:
    brandspace = _lock_brandspace(user, brandspace_id)
    if name is not None:
        brandspace.name = _check_name_free(brandspace.organization_id, name, brandspace.pk)
    if primary_brand is not None and primary_brand.pk != brandspace.primary_brand_id:
        # A brand tracked here swaps places with the primary, which takes over its role, so
        # no brand leaves the brandspace; a brand from the catalog replaces the primary.
        tracked = brandspace.tracked.filter(brand=primary_brand).first()
        if tracked is not None:
            tracked.brand_id = brandspace.primary_brand_id
            tracked.save(update_fields=["brand"])
        brandspace.primary_brand = primary_brand
    brandspace.save()
    return brandspace


@transaction.atomic
def brandspace_delete(*, user: User, brandspace_id) -> None:
    _lock_brandspace(user, brandspace_id).delete()


@transaction.atomic
def tracked_brand_add(*, user: User, brandspace_id, brand: Brand, role: str) -> TrackedBrand:
    # The brandspace row lock serialises concurrent adds, so the checks below hold.
    brandspace = _lock_brandspace(user, brandspace_id)
    if role not in TrackedBrand.Role.values:
        raise DomainError(
            f"Unknown role {role!r}; use one of {', '.join(TrackedBrand.Role.values)}.", field="role"
        )
    if brand.pk == brandspace.primary_brand_id:
        raise DomainError(f"{brand.name} is this brandspace's primary brand.", field="brand")
    if brandspace.tracked.filter(brand=brand).exists():
        raise Conflict(f"{brand.name} is tracked in this brandspace already.", field="brand")
    return TrackedBrand.objects.create(brandspace=brandspace, brand=brand, role=role)


@transaction.atomic
def tracked_brand_remove(*, user: User, brandspace_id, brand_id) -> None:
    brandspace = _lock_brandspace(user, brandspace_id)
    deleted, _ = TrackedBrand.objects.filter(brandspace=brandspace, brand_id=brand_id).delete()
    if not deleted:
        raise NotFound("That brand is not tracked in this brandspace.")
