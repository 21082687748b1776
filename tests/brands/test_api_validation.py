"""Validation: a bad request answers 400 in the error shape, names the field, and writes nothing."""

from __future__ import annotations

import pytest

from brands.models import Brand, BrandIdentity, Brandspace, Creative, TrackedBrand
from tests import factories

pytestmark = pytest.mark.django_db


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Brand, BrandIdentity, Brandspace, TrackedBrand, Creative)
    }


def assert_invalid(response, field: str) -> dict:
    """400, the one error shape, `detail` naming `field` with a non-empty message."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "detail"}, error
    assert error["code"] in ("invalid", "duplicate"), error
    assert error["message"].strip(), error
    assert isinstance(error["detail"], dict), error
    assert field in error["detail"], error
    messages = error["detail"][field]
    assert messages, error
    assert _has_text(messages), error
    return error


def _has_text(value) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, dict):
        return any(_has_text(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_text(v) for v in value)
    return False


@pytest.fixture
def owner_client(client_for, owner):
    return client_for(owner)


# --- brandspaces and tracked brands -------------------------------------------------


def test_create_with_primary_also_tracked(owner_client):
    primary = factories.BrandFactory()
    before = counts()
    response = owner_client.post(
        "/api/brandspaces/",
        {
            "name": "Market",
            "primary_brand": primary.pk,
            "tracked_brands": [{"brand": primary.pk, "role": "competitor"}],
        },
        format="json",
    )
    assert_invalid(response, "tracked_brands")
    assert counts() == before


def test_create_with_a_brand_tracked_twice(owner_client):
    primary, rival = factories.BrandFactory.create_batch(2)
    before = counts()
    response = owner_client.post(
        "/api/brandspaces/",
        {
            "name": "Market",
            "primary_brand": primary.pk,
            "tracked_brands": [
                {"brand": rival.pk, "role": "competitor"},
                {"brand": rival.pk, "role": "followed"},
            ],
        },
        format="json",
    )
    assert_invalid(response, "tracked_brands")
    assert counts() == before


def test_create_with_unknown_role(owner_client):
    primary, rival = factories.BrandFactory.create_batch(2)
    before = counts()
    response = owner_client.post(
        "/api/brandspaces/",
        {
            "name": "Market",
            "primary_brand": primary.pk,
            "tracked_brands": [{"brand": rival.pk, "role": "enemy"}],
        },
        format="json",
    )
    assert_invalid(response, "tracked_brands")
    assert counts() == before


def test_create_with_unknown_primary_brand(owner_client):
    before = counts()
    response = owner_client.post(
        "/api/brandspaces/", {"name": "Market", "primary_brand": 987654321}, format="json"
    )
    assert_invalid(response, "primary_brand")
    assert counts() == before


def test_create_without_a_name(owner_client):
    primary = factories.BrandFactory()
    before = counts()
    response = owner_client.post("/api/brandspaces/", {"primary_brand": primary.pk}, format="json")
    assert_invalid(response, "name")
    assert counts() == before


def test_create_with_a_name_taken_in_the_organization(owner_client, brandspace):
    primary = factories.BrandFactory()
    before = counts()
    response = owner_client.post(
        "/api/brandspaces/", {"name": brandspace.name.upper(), "primary_brand": primary.pk}, format="json"
    )
    assert_invalid(response, "name")
    assert counts() == before


def test_a_name_taken_in_another_organization_is_free(owner_client):
    taken = factories.BrandspaceFactory()  # another organization's
    response = owner_client.post(
        "/api/brandspaces/", {"name": taken.name, "primary_brand": taken.primary_brand_id}, format="json"
    )
    assert response.status_code == 201, response.content


def test_add_the_primary_brand_as_tracked(owner_client, brandspace):
    before = counts()
    response = owner_client.post(
        f"/api/brandspaces/{brandspace.pk}/brands/",
        {"brand": brandspace.primary_brand_id, "role": "competitor"},
        format="json",
    )
    assert_invalid(response, "brand")
    assert counts() == before


def test_add_a_brand_tracked_already(owner_client, brandspace):
    tracked = brandspace.tracked.get(role="competitor")
    before = counts()
    response = owner_client.post(
        f"/api/brandspaces/{brandspace.pk}/brands/",
        {"brand": tracked.brand_id, "role": "followed"},
        format="json",
    )
    assert_invalid(response, "brand")
    assert counts() == before
    tracked.refresh_from_db()
    assert tracked.role == "competitor"


def test_add_with_unknown_role(owner_client, brandspace):
    brand = factories.BrandFactory()
    before = counts()
    response = owner_client.post(
        f"/api/brandspaces/{brandspace.pk}/brands/", {"brand": brand.pk, "role": "enemy"}, format="json"
    )
    assert_invalid(response, "role")
    assert counts() == before


def test_add_an_unknown_brand(owner_client, brandspace):
    before = counts()
    response = owner_client.post(
        f"/api/brandspaces/{brandspace.pk}/brands/", {"brand": 987654321, "role": "competitor"}, format="json"
    )
    assert_invalid(response, "brand")
    assert counts() == before


@pytest.mark.parametrize("method", ["patch", "put"])
def test_change_primary_to_a_tracked_brand_swaps_their_places(owner_client, brandspace, method):
    tracked = brandspace.tracked.get(role="followed")
    old_primary_id, new_primary_id = brandspace.primary_brand_id, tracked.brand_id
    response = getattr(owner_client, method)(
        f"/api/brandspaces/{brandspace.pk}/",
        {"name": "Renamed too", "primary_brand": new_primary_id},
        format="json",
    )
    assert response.status_code == 200, response.content
    brandspace.refresh_from_db()
    assert (brandspace.name, brandspace.primary_brand_id) == ("Renamed too", new_primary_id)
    # The former primary takes the role the new one had; no brand leaves the brandspace.
    roles = dict(brandspace.tracked.values_list("brand_id", "role"))
    assert roles == {
        old_primary_id: "followed",
        brandspace.tracked.get(role="competitor").brand_id: "competitor",
    }


def test_rename_to_a_blank_name(owner_client, brandspace):
    response = owner_client.patch(f"/api/brandspaces/{brandspace.pk}/", {"name": "  "}, format="json")
    assert_invalid(response, "name")
    brandspace_name = Brandspace.objects.get(pk=brandspace.pk).name
    assert brandspace_name == brandspace.name


# --- brands -------------------------------------------------------------------------


def test_duplicate_identity_in_one_request(owner_client):
    before = counts()
    response = owner_client.post(
        "/api/brands/",
        {
            "name": "Twice",
            "identities": [
                {"source": "meta", "external_id": "4242"},
                {"source": "meta", "external_id": "4242"},
            ],
        },
        format="json",
    )
    assert_invalid(response, "identities")
    assert counts() == before


def test_duplicate_identity_against_an_existing_brand(owner_client):
    existing = factories.BrandIdentityFactory(source="google", external_id="AR777")
    before = counts()
    response = owner_client.post(
        "/api/brands/",
        {"name": "Copycat", "identities": [{"source": "google", "external_id": "AR777"}]},
        format="json",
    )
    error = assert_invalid(response, "identities")
    assert "AR777" in error["message"]
    assert counts() == before
    assert BrandIdentity.objects.get(source="google", external_id="AR777").brand_id == existing.brand_id


def test_same_external_id_on_another_source_is_fine(owner_client):
    factories.BrandIdentityFactory(source="meta", external_id="999")
    response = owner_client.post(
        "/api/brands/",
        {"name": "Other source", "identities": [{"source": "google", "external_id": "999"}]},
        format="json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("domain", ["not a domain", "nodot", "exa mple.com", "-bad-.example", ""])
def test_bad_domain(owner_client, domain):
    before = counts()
    response = owner_client.post("/api/brands/", {"name": "Bad domain", "domains": [domain]}, format="json")
    assert_invalid(response, "domains")
    assert counts() == before


def test_unknown_identity_source(owner_client):
    before = counts()
    response = owner_client.post(
        "/api/brands/",
        {"name": "Tiktok", "identities": [{"source": "tiktok", "external_id": "1"}]},
        format="json",
    )
    assert_invalid(response, "identities")
    assert counts() == before


def test_taken_slug(owner_client):
    taken = factories.BrandFactory()
    before = counts()
    response = owner_client.post("/api/brands/", {"name": "New", "slug": taken.slug}, format="json")
    assert_invalid(response, "slug")
    assert counts() == before


def test_brand_without_a_name(owner_client):
    before = counts()
    response = owner_client.post("/api/brands/", {"domains": ["ok.example"]}, format="json")
    assert_invalid(response, "name")
    assert counts() == before


# --- creative filters ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"seen_since": "yesterday"}, "seen_since"),
        ({"seen_since": "2024-13-01"}, "seen_since"),
        ({"seen_until": "2024-02-30"}, "seen_until"),
        ({"seen_since": "2024-06-02", "seen_until": "2024-06-01"}, "seen_since"),
        ({"min_days_running": "-1"}, "min_days_running"),
        ({"min_days_running": "ten"}, "min_days_running"),
        ({"brand": "abc"}, "brand"),
        ({"brand": "-3"}, "brand"),
        ({"brandspace": "abc"}, "brandspace"),
        ({"brandspace": "0"}, "brandspace"),
        pytest.param(
            {"format": "hologram"},
            "format",
        ),
        pytest.param(
            {"active": "perhaps"},
            "active",
        ),
        ({"role": "primary"}, "role"),
        ({"role": "boss", "brandspace": "1"}, "role"),
        ({"ordering": "oldest"}, "ordering"),
    ],
)
def test_malformed_creative_filter(client_for, member, params, field):
    factories.CreativeFactory()
    response = client_for(member).get("/api/creatives/", params)
    assert_invalid(response, field)


def test_role_filter_with_own_brandspace_is_fine(client_for, member, brandspace):
    response = client_for(member).get("/api/creatives/", {"role": "primary", "brandspace": brandspace.pk})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "params",
    [
        {"brand": "99999999999999999999"},
        {"min_days_running": "99999999999999999999"},
        {"q": "%_\\'\""},
    ],
)
def test_extreme_filter_values_answer_without_error(client_for, member, params):
    """Out-of-range numbers and LIKE wildcards match nothing; they never reach the user as a 500."""
    factories.CreativeFactory(body="plain text", title="plain title")
    response = client_for(member).get("/api/creatives/", params)
    assert response.status_code == 200, response.content
    assert response.json()["results"] == []


def test_overlong_text_filter(client_for, member):
    assert_invalid(client_for(member).get("/api/creatives/", {"q": "x" * 201}), "q")
