"""The demo world `make run` opens on: one organization, its users, brands and a brandspace."""

from __future__ import annotations

from django.db import transaction

from brands.models import Brand, BrandIdentity, Brandspace, Membership, Organization, TrackedBrand, User

DEMO_ORGANIZATION = "Demo Outdoor Co"
DEMO_PASSWORD = "adology-demo"
DEMO_USERS = [
    ("owner@demo.adology.local", Membership.Role.OWNER, True),
    ("admin@demo.adology.local", Membership.Role.ADMIN, False),
    ("member@demo.adology.local", Membership.Role.MEMBER, False),
]
# name, slug, domain, meta page id, google advertiser id
DEMO_BRANDS = [
    (
        "Trailhead Gear",
        "trailhead-gear",
        "trailheadgear.example",
        "100000000000001",
        "AR00000000000000000001",
    ),
    ("Summit Supply", "summit-supply", "summitsupply.example", "100000000000002", "AR00000000000000000002"),
    (
        "Ridgeline Outfitters",
        "ridgeline-outfitters",
        "ridgeline.example",
        "100000000000003",
        "AR00000000000000000003",
    ),
    ("Basecamp Co", "basecamp-co", "basecamp.example", "100000000000004", "AR00000000000000000004"),
]
DEMO_BRANDSPACE = "Outdoor market"


@transaction.atomic
def seed_demo() -> Organization:
    """Create the demo data, or bring it back to its known state. Safe to run again."""
    organization, _ = Organization.objects.get_or_create(name=DEMO_ORGANIZATION)
    for email, role, superuser in DEMO_USERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD)
        user.is_staff = user.is_superuser = superuser
        user.set_password(DEMO_PASSWORD)
        user.save()
        Membership.objects.update_or_create(user=user, defaults={"organization": organization, "role": role})
    brands = []
    for name, slug, domain, page_id, advertiser_id in DEMO_BRANDS:
        brand, _ = Brand.objects.get_or_create(slug=slug, defaults={"name": name, "domains": [domain]})
        BrandIdentity.objects.get_or_create(source="meta", external_id=page_id, defaults={"brand": brand})
        BrandIdentity.objects.get_or_create(
            source="google", external_id=advertiser_id, defaults={"brand": brand}
        )
        brands.append(brand)
    primary, *others = brands
    brandspace, _ = Brandspace.objects.get_or_create(
        organization=organization, name=DEMO_BRANDSPACE, defaults={"primary_brand": primary}
    )
    roles = [TrackedBrand.Role.COMPETITOR, TrackedBrand.Role.COMPETITOR, TrackedBrand.Role.FOLLOWED]
    for brand, role in zip(others, roles, strict=True):
        TrackedBrand.objects.get_or_create(brandspace=brandspace, brand=brand, defaults={"role": role})
    return organization
