"""factory_boy factories for the data model. Passwords are all `password123`."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from brands.models import (
    Brand,
    BrandIdentity,
    Brandspace,
    Creative,
    CreativeMedia,
    CreativeMediaLink,
    Membership,
    Organization,
    TrackedBrand,
    User,
)
from ingestion.models import IngestionRun

PASSWORD = "password123"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.MEMBER


def member(organization: Organization, role: str = Membership.Role.MEMBER) -> User:
    """A user of `organization` with `role`."""
    return MembershipFactory(organization=organization, role=role).user


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")
    domains = factory.Sequence(lambda n: [f"brand{n}.example"])


class BrandIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BrandIdentity

    brand = factory.SubFactory(BrandFactory)
    source = "meta"
    external_id = factory.Sequence(lambda n: f"{100000 + n}")


class BrandspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brandspace

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Brandspace {n}")
    primary_brand = factory.SubFactory(BrandFactory)


class TrackedBrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrackedBrand

    brandspace = factory.SubFactory(BrandspaceFactory)
    brand = factory.SubFactory(BrandFactory)
    role = TrackedBrand.Role.COMPETITOR


class CreativeMediaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreativeMedia

    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    storage_key = factory.LazyAttribute(lambda m: f"media/{m.sha256[:2]}/{m.sha256}.jpg")
    mime_type = "image/jpeg"
    bytes = 20480
    width = 1080
    height = 1080
    perceptual_hash = "ffd8e0c0a0b0c0d0"


class CreativeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Creative
        skip_postgeneration_save = True

    brand = factory.SubFactory(BrandFactory)
    source = "meta"
    source_ad_id = factory.Sequence(lambda n: f"ad{n}")
    format = Creative.Format.IMAGE
    body = factory.Faker("sentence")
    title = factory.Faker("catch_phrase")
    link_url = "https://shop.example/offer"
    call_to_action = "Shop now"
    platforms = factory.LazyFunction(lambda: ["facebook", "instagram"])
    countries = factory.LazyFunction(lambda: ["US"])
    first_seen_at = factory.LazyFunction(timezone.now)
    last_seen_at = factory.LazyFunction(timezone.now)
    started_running_on = factory.LazyFunction(lambda: timezone.now().date() - dt.timedelta(days=10))
    is_active = True
    days_running = 10

    @factory.post_generation
    def with_media(obj, create, extracted, **kwargs):
        if create and extracted:
            for position in range(extracted):
                CreativeMediaLink.objects.create(
                    creative=obj, media=CreativeMediaFactory(), position=position
                )


class IngestionRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IngestionRun

    brand = factory.SubFactory(BrandFactory)
    source = "meta"
