"""Tenancy: brandspaces are private to one organization; brands and creatives are shared.

Organization A owns a brandspace. A user of organization B must not see it, change it or
learn that it exists: every reference to it (in a path or a filter) answers 404, and A's
rows stay as they were. Inside A, members read and only owners and admins write.
"""

from __future__ import annotations

import pytest

from brands.models import Brand, BrandIdentity, Brandspace, Membership, TrackedBrand
from tests import factories

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "detail"}, error
    assert error["message"], error
    if code is not None:
        assert error["code"] == code, error
    return error


def snapshot() -> dict:
    """Everything the brandspace API could change, as plain data."""
    return {
        "brandspaces": sorted(
            Brandspace.objects.values_list("id", "organization_id", "name", "primary_brand_id", "updated_at")
        ),
        "tracked": sorted(TrackedBrand.objects.values_list("brandspace_id", "brand_id", "role")),
        "brands": Brand.objects.count(),
        "identities": BrandIdentity.objects.count(),
    }


@pytest.fixture
def space_a(brandspace):
    """Organization A's brandspace (the conftest `org`), with a competitor and a followed brand."""
    return brandspace


@pytest.fixture
def org_b(db):
    return factories.OrganizationFactory()


@pytest.fixture(params=[Membership.Role.OWNER, Membership.Role.MEMBER])
def user_b(request, org_b):
    """A user of organization B: an owner (who could write their own) and a plain member."""
    return factories.member(org_b, request.param)


@pytest.fixture
def client_b(client_for, user_b):
    return client_for(user_b)


# --- another organization: 404, never data -------------------------------------------


def test_other_org_cannot_read_brandspace(client_b, space_a):
    assert_error(client_b.get(f"/api/brandspaces/{space_a.pk}/"), 404, "not_found")


def test_other_org_list_never_contains_foreign_rows(client_b, user_b, space_a, org_b):
    own = factories.BrandspaceFactory(organization=org_b)
    response = client_b.get("/api/brandspaces/")
    assert response.status_code == 200
    ids = [row["id"] for row in response.json()]
    assert ids == [own.pk]


@pytest.mark.parametrize("method", ["patch", "put"])
def test_other_org_cannot_update_brandspace(client_b, space_a, method):
    other_brand = factories.BrandFactory()
    before = snapshot()
    response = getattr(client_b, method)(
        f"/api/brandspaces/{space_a.pk}/",
        {"name": "Hijacked", "primary_brand": other_brand.pk},
        format="json",
    )
    assert_error(response, 404, "not_found")
    assert snapshot() == before


@pytest.mark.parametrize("method", ["patch", "put"])
def test_other_org_gets_404_not_400_for_invalid_update(client_b, space_a, method):
    """Validation must not run first: a 400 would confirm the brandspace exists."""
    before = snapshot()
    response = getattr(client_b, method)(
        f"/api/brandspaces/{space_a.pk}/", {"primary_brand": 999999999}, format="json"
    )
    assert_error(response, 404, "not_found")
    assert snapshot() == before


def test_other_org_cannot_delete_brandspace(client_b, space_a):
    before = snapshot()
    assert_error(client_b.delete(f"/api/brandspaces/{space_a.pk}/"), 404, "not_found")
    assert snapshot() == before
    assert Brandspace.objects.filter(pk=space_a.pk).exists()


def test_other_org_cannot_add_tracked_brand(client_b, space_a):
    brand = factories.BrandFactory()
    before = snapshot()
    response = client_b.post(
        f"/api/brandspaces/{space_a.pk}/brands/", {"brand": brand.pk, "role": "competitor"}, format="json"
    )
    assert_error(response, 404, "not_found")
    assert snapshot() == before


def test_other_org_gets_404_not_400_for_invalid_tracked_brand(client_b, space_a):
    before = snapshot()
    response = client_b.post(
        f"/api/brandspaces/{space_a.pk}/brands/", {"brand": space_a.primary_brand_id, "role": "nope"}
    )
    assert_error(response, 404, "not_found")
    assert snapshot() == before


def test_other_org_cannot_remove_tracked_brand(client_b, space_a):
    tracked = space_a.tracked.first()
    before = snapshot()
    response = client_b.delete(f"/api/brandspaces/{space_a.pk}/brands/{tracked.brand_id}/")
    assert_error(response, 404, "not_found")
    assert snapshot() == before


def test_other_org_cannot_filter_creatives_by_brandspace(client_b, space_a):
    factories.CreativeFactory(brand=space_a.primary_brand)
    response = client_b.get("/api/creatives/", {"brandspace": space_a.pk})
    assert_error(response, 404, "not_found")
    response = client_b.get("/api/creatives/", {"brandspace": space_a.pk, "role": "competitor"})
    assert_error(response, 404, "not_found")


def test_other_org_404_is_the_same_as_for_a_missing_brandspace(client_b, space_a):
    """Nothing in the answer tells a foreign brandspace from one that does not exist."""
    missing = Brandspace.objects.order_by("-pk").first().pk + 1000
    foreign = client_b.get(f"/api/brandspaces/{space_a.pk}/")
    absent = client_b.get(f"/api/brandspaces/{missing}/")
    assert foreign.status_code == absent.status_code == 404
    assert foreign.json() == absent.json()


def test_user_without_organization_sees_no_brandspace(client_for, space_a):
    loner = factories.UserFactory()
    client = client_for(loner)
    assert client.get("/api/brandspaces/").json() == []
    assert_error(client.get(f"/api/brandspaces/{space_a.pk}/"), 404, "not_found")
    assert_error(client.get("/api/creatives/", {"brandspace": space_a.pk}), 404, "not_found")
    before = snapshot()
    response = client.post(
        "/api/brandspaces/", {"name": "Mine", "primary_brand": space_a.primary_brand_id}, format="json"
    )
    assert response.status_code in (403, 404)
    assert snapshot() == before


# --- shared data: every signed-in customer reads it ----------------------------------


def test_brands_and_creatives_are_readable_by_every_customer(client_b, space_a):
    brand = space_a.primary_brand
    creative = factories.CreativeFactory(brand=brand)

    response = client_b.get("/api/brands/", {"q": brand.name})
    assert response.status_code == 200
    assert brand.pk in [row["id"] for row in response.json()["results"]]
    assert client_b.get(f"/api/brands/{brand.pk}/").status_code == 200

    response = client_b.get("/api/creatives/", {"brand": brand.pk})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [creative.pk]
    detail = client_b.get(f"/api/creatives/{creative.pk}/")
    assert detail.status_code == 200
    assert detail.json()["id"] == creative.pk


# --- inside the organization: members read, owners and admins write -------------------


def test_member_reads_brandspaces(client_for, member, space_a):
    client = client_for(member)
    assert [row["id"] for row in client.get("/api/brandspaces/").json()] == [space_a.pk]
    response = client.get(f"/api/brandspaces/{space_a.pk}/")
    assert response.status_code == 200
    assert response.json()["name"] == space_a.name
    response = client.get("/api/creatives/", {"brandspace": space_a.pk})
    assert response.status_code == 200


def test_member_cannot_create_brandspace(client_for, member, space_a):
    primary = factories.BrandFactory()
    before = snapshot()
    response = client_for(member).post(
        "/api/brandspaces/",
        {
            "name": "Member's market",
            "primary_brand": primary.pk,
            "tracked_brands": [{"brand": space_a.primary_brand_id, "role": "competitor"}],
        },
        format="json",
    )
    assert_error(response, 403, "permission_denied")
    assert snapshot() == before


@pytest.mark.parametrize("method", ["patch", "put"])
def test_member_cannot_update_brandspace(client_for, member, space_a, method):
    other = factories.BrandFactory()
    before = snapshot()
    response = getattr(client_for(member), method)(
        f"/api/brandspaces/{space_a.pk}/", {"name": "Renamed", "primary_brand": other.pk}, format="json"
    )
    assert_error(response, 403, "permission_denied")
    assert snapshot() == before


def test_member_cannot_delete_brandspace(client_for, member, space_a):
    before = snapshot()
    assert_error(client_for(member).delete(f"/api/brandspaces/{space_a.pk}/"), 403, "permission_denied")
    assert snapshot() == before


def test_member_cannot_add_tracked_brand(client_for, member, space_a):
    brand = factories.BrandFactory()
    before = snapshot()
    response = client_for(member).post(
        f"/api/brandspaces/{space_a.pk}/brands/", {"brand": brand.pk, "role": "followed"}, format="json"
    )
    assert_error(response, 403, "permission_denied")
    assert snapshot() == before


def test_member_cannot_remove_tracked_brand(client_for, member, space_a):
    tracked = space_a.tracked.first()
    before = snapshot()
    response = client_for(member).delete(f"/api/brandspaces/{space_a.pk}/brands/{tracked.brand_id}/")
    assert_error(response, 403, "permission_denied")
    assert snapshot() == before


def test_member_cannot_create_brand(client_for, member):
    before = snapshot()
    response = client_for(member).post(
        "/api/brands/",
        {
            "name": "Sneaky",
            "domains": ["sneaky.example"],
            "identities": [{"source": "meta", "external_id": "1"}],
        },
        format="json",
    )
    assert_error(response, 403, "permission_denied")
    assert snapshot() == before


@pytest.fixture(params=[Membership.Role.OWNER, Membership.Role.ADMIN])
def writer(request, org):
    return factories.member(org, request.param)


def test_writer_creates_updates_and_deletes_brandspace(client_for, writer):
    client = client_for(writer)
    primary, rival, other = factories.BrandFactory.create_batch(3)

    response = client.post(
        "/api/brandspaces/",
        {
            "name": "Market",
            "primary_brand": primary.pk,
            "tracked_brands": [{"brand": rival.pk, "role": "competitor"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    space = Brandspace.objects.get(pk=response.json()["id"])
    assert space.organization_id == writer.membership.organization_id
    assert space.created_by == writer

    response = client.patch(f"/api/brandspaces/{space.pk}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 200, response.content
    response = client.put(f"/api/brandspaces/{space.pk}/", {"primary_brand": other.pk}, format="json")
    assert response.status_code == 200, response.content
    space.refresh_from_db()
    assert (space.name, space.primary_brand_id) == ("Renamed", other.pk)

    assert client.delete(f"/api/brandspaces/{space.pk}/").status_code == 204
    assert not Brandspace.objects.filter(pk=space.pk).exists()
    assert not TrackedBrand.objects.filter(brandspace_id=space.pk).exists()


def test_writer_adds_and_removes_tracked_brand(client_for, writer, space_a):
    client = client_for(writer)
    brand = factories.BrandFactory()
    response = client.post(
        f"/api/brandspaces/{space_a.pk}/brands/", {"brand": brand.pk, "role": "followed"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["brand"]["id"] == brand.pk
    assert response.json()["role"] == "followed"
    assert TrackedBrand.objects.filter(brandspace=space_a, brand=brand, role="followed").exists()

    assert client.delete(f"/api/brandspaces/{space_a.pk}/brands/{brand.pk}/").status_code == 204
    assert not TrackedBrand.objects.filter(brandspace=space_a, brand=brand).exists()
    # The shared brand itself stays in the catalog.
    assert Brand.objects.filter(pk=brand.pk).exists()


def test_removing_an_untracked_brand_is_404(client_for, owner, space_a):
    before = snapshot()
    response = client_for(owner).delete(f"/api/brandspaces/{space_a.pk}/brands/{space_a.primary_brand_id}/")
    assert_error(response, 404, "not_found")
    assert snapshot() == before


def test_writer_creates_brand(client_for, writer):
    response = client_for(writer).post(
        "/api/brands/",
        {
            "name": "Fresh Brand",
            "domains": ["https://www.Fresh.example/"],
            "identities": [
                {"source": "meta", "external_id": "555"},
                {"source": "google", "external_id": "AR555"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    brand = Brand.objects.get(pk=response.json()["id"])
    assert brand.name == "Fresh Brand"
    assert brand.domains == ["fresh.example"]
    assert sorted(brand.identities.values_list("source", "external_id")) == [
        ("google", "AR555"),
        ("meta", "555"),
    ]


# --- not signed in --------------------------------------------------------------------


def _anonymous_requests(space: Brandspace, creative_id: int, brand_id: int):
    bs = f"/api/brandspaces/{space.pk}/"
    return [
        ("get", "/api/me/", None),
        ("get", "/api/brandspaces/", None),
        ("post", "/api/brandspaces/", {"name": "x", "primary_brand": brand_id}),
        ("get", bs, None),
        ("patch", bs, {"name": "x"}),
        ("put", bs, {"name": "x"}),
        ("delete", bs, None),
        ("post", f"{bs}brands/", {"brand": brand_id, "role": "competitor"}),
        ("delete", f"{bs}brands/{brand_id}/", None),
        ("get", "/api/brands/", None),
        ("post", "/api/brands/", {"name": "x"}),
        ("get", f"/api/brands/{brand_id}/", None),
        ("get", "/api/creatives/", None),
        ("get", "/api/creatives/", {"brandspace": space.pk}),
        ("get", f"/api/creatives/{creative_id}/", None),
    ]


def test_anonymous_requests_are_refused_with_the_error_shape(api, space_a):
    creative = factories.CreativeFactory(brand=space_a.primary_brand)
    tracked_brand_id = space_a.tracked.first().brand_id
    before = snapshot()
    for method, url, data in _anonymous_requests(space_a, creative.pk, tracked_brand_id):
        kwargs = {"format": "json"} if data is not None and method != "get" else {}
        response = getattr(api, method)(url, data, **kwargs)
        assert response.status_code in (401, 403), (method, url, response.status_code)
        error = assert_error(response, response.status_code)
        assert error["code"] in ("not_authenticated", "authentication_failed", "permission_denied")
        # Nothing private leaks into the refusal.
        assert space_a.name not in response.content.decode()
    assert snapshot() == before


def test_bad_token_is_refused_with_the_error_shape(api, space_a):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    error = assert_error(api.get("/api/brandspaces/"), 401)
    assert error["code"] == "authentication_failed"
