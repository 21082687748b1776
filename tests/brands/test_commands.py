"""The ops commands: `create_org` and `seed_demo`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from brands.demo import DEMO_BRANDSPACE, DEMO_ORGANIZATION, DEMO_PASSWORD, DEMO_USERS
from brands.models import (
    Brand,
    BrandIdentity,
    Brandspace,
    Membership,
    Organization,
    TrackedBrand,
    User,
)
from tests import factories

pytestmark = pytest.mark.django_db

MODELS = (Organization, User, Membership, Brand, BrandIdentity, Brandspace, TrackedBrand)


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in MODELS}


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def sign_in(email: str, password: str):
    return APIClient().post("/api/auth/token/", {"email": email, "password": password}, format="json")


# --- create_org -------------------------------------------------------------------------


def test_create_org_prints_the_id_and_the_owner_can_sign_in():
    output = run("create_org", "Acme Outdoor", "--owner", "Boss@Acme.example", "--password", "s3cret-pass")
    organization = Organization.objects.get(name="Acme Outdoor")
    assert output.strip() == str(organization.pk)

    membership = Membership.objects.get(organization=organization)
    assert membership.role == Membership.Role.OWNER
    assert membership.user.email == "boss@acme.example"

    response = sign_in("boss@acme.example", "s3cret-pass")
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    me = client.get("/api/me/").json()
    assert me["organization"] == {"id": organization.pk, "name": "Acme Outdoor"}
    assert me["role"] == "owner"
    # The owner can write straight away.
    brand = factories.BrandFactory()
    created = client.post("/api/brandspaces/", {"name": "First", "primary_brand": brand.pk}, format="json")
    assert created.status_code == 201, created.content


def test_create_org_with_a_taken_name_fails_and_writes_nothing():
    run("create_org", "Acme", "--owner", "first@acme.example", "--password", "s3cret-pass")
    before = counts()
    with pytest.raises(CommandError, match="(?i)acme.*exists"):
        run("create_org", "ACME", "--owner", "second@acme.example", "--password", "s3cret-pass")
    assert counts() == before
    assert not User.objects.filter(email="second@acme.example").exists()


def test_create_org_with_a_taken_email_fails_and_writes_nothing():
    run("create_org", "Acme", "--owner", "boss@acme.example", "--password", "s3cret-pass")
    before = counts()
    with pytest.raises(CommandError, match="boss@acme.example"):
        run("create_org", "Other Co", "--owner", "boss@acme.example", "--password", "other-pass")
    assert counts() == before
    assert not Organization.objects.filter(name="Other Co").exists()
    # The first owner's password is untouched.
    assert sign_in("boss@acme.example", "s3cret-pass").status_code == 200


@pytest.mark.parametrize("email", ["not-an-email", "boss@", "@acme.example", ""])
def test_create_org_with_a_bad_email_fails_and_writes_nothing(email):
    before = counts()
    with pytest.raises(CommandError):
        run("create_org", "Acme", "--owner", email, "--password", "s3cret-pass")
    assert counts() == before


def test_create_org_with_a_short_password_fails_and_writes_nothing():
    before = counts()
    with pytest.raises(CommandError, match="password"):
        run("create_org", "Acme", "--owner", "boss@acme.example", "--password", "short")
    assert counts() == before


def test_create_org_with_a_blank_name_fails_and_writes_nothing():
    before = counts()
    with pytest.raises(CommandError):
        run("create_org", "   ", "--owner", "boss@acme.example", "--password", "s3cret-pass")
    assert counts() == before


def test_create_org_needs_owner_and_password():
    with pytest.raises(CommandError):
        run("create_org", "Acme")
    assert not Organization.objects.exists()


# --- seed_demo ----------------------------------------------------------------------------


def test_seed_demo_creates_the_demo_world():
    output = run("seed_demo")
    organization = Organization.objects.get(name=DEMO_ORGANIZATION)
    assert str(organization.pk) in output
    for email, role, _ in DEMO_USERS:
        assert email in output
        assert Membership.objects.get(user__email=email).role == role
    assert DEMO_PASSWORD in output

    space = Brandspace.objects.get(organization=organization, name=DEMO_BRANDSPACE)
    tracked = list(space.tracked.values_list("role", flat=True))
    assert sorted(tracked) == ["competitor", "competitor", "followed"]
    assert space.primary_brand_id not in space.tracked.values_list("brand_id", flat=True)
    for brand in Brand.objects.filter(
        pk__in=[space.primary_brand_id, *space.tracked.values_list("brand_id", flat=True)]
    ):
        assert brand.domains
        assert set(brand.identities.values_list("source", flat=True)) == {"meta", "google"}


def test_seed_demo_twice_is_idempotent():
    run("seed_demo")
    first = counts()
    run("seed_demo")
    assert counts() == first


def test_seed_demo_repairs_a_changed_password_and_role():
    run("seed_demo")
    email = DEMO_USERS[2][0]
    user = User.objects.get(email=email)
    user.set_password("forgotten-it")
    user.save()
    Membership.objects.filter(user=user).update(role=Membership.Role.OWNER)
    run("seed_demo")
    assert Membership.objects.get(user=user).role == DEMO_USERS[2][1]
    assert sign_in(email, DEMO_PASSWORD).status_code == 200


def test_seed_demo_users_can_sign_in_and_see_the_demo_brandspace():
    run("seed_demo")
    run("seed_demo")
    for email, role, _ in DEMO_USERS:
        response = sign_in(email, DEMO_PASSWORD)
        assert response.status_code == 200, (email, response.content)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
        assert client.get("/api/me/").json()["role"] == role
        assert [row["name"] for row in client.get("/api/brandspaces/").json()] == [DEMO_BRANDSPACE]


def test_seed_demo_owner_can_use_the_admin():
    from django.test import Client

    run("seed_demo")
    owner_email = next(email for email, role, _ in DEMO_USERS if role == Membership.Role.OWNER)
    client = Client()
    assert client.login(email=owner_email, password=DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 200


def test_seed_demo_leaves_other_organizations_alone(brandspace):
    before = Brandspace.objects.values_list("id", "name", "primary_brand_id").get(pk=brandspace.pk)
    run("seed_demo")
    assert Brandspace.objects.values_list("id", "name", "primary_brand_id").get(pk=brandspace.pk) == before
    assert brandspace.tracked.count() == 2
