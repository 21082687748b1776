"""Every list endpoint runs a fixed number of queries, however many rows are on the page.

Requests sign in with a token, as API clients do, so nothing cached on a Python user object
from one request hides a query from the next.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from brands.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db

SMALL, LARGE = 5, 50


@pytest.fixture
def token_client(org):
    user = factories.member(org, Membership.Role.MEMBER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def queries_for(client, url: str, params: dict, expected_rows: int) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body if isinstance(body, list) else body["results"]
    assert len(rows) == expected_rows
    return [q["sql"] for q in ctx.captured_queries]


def assert_same_queries(small: list[str], large: list[str]) -> None:
    assert len(small) == len(large), "\n\n".join(["SMALL PAGE:", *small, "LARGE PAGE:", *large])


def test_brandspace_list(token_client, org):
    def make(n):
        for _ in range(n):
            space = factories.BrandspaceFactory(organization=org)
            factories.TrackedBrandFactory(brandspace=space, role="competitor")
            factories.TrackedBrandFactory(brandspace=space, role="followed")

    make(SMALL)
    small = queries_for(token_client, "/api/brandspaces/", {}, SMALL)
    make(LARGE - SMALL)
    large = queries_for(token_client, "/api/brandspaces/", {}, LARGE)
    assert_same_queries(small, large)


@pytest.mark.parametrize("params", [{}, {"q": "brand"}])
def test_brand_list(token_client, params):
    for brand in factories.BrandFactory.create_batch(LARGE):
        factories.BrandIdentityFactory(brand=brand, source="meta")
        factories.BrandIdentityFactory(brand=brand, source="google")
    small = queries_for(token_client, "/api/brands/", {**params, "page_size": SMALL}, SMALL)
    large = queries_for(token_client, "/api/brands/", {**params, "page_size": LARGE}, LARGE)
    assert_same_queries(small, large)


@pytest.fixture
def creatives(org):
    """LARGE creatives with two media each, spread over a brandspace's three brands."""
    space = factories.BrandspaceFactory(organization=org)
    competitor = factories.TrackedBrandFactory(brandspace=space, role="competitor").brand
    followed = factories.TrackedBrandFactory(brandspace=space, role="followed").brand
    brands = [space.primary_brand, competitor, followed]
    for n in range(LARGE):
        factories.CreativeFactory(brand=brands[n % 3], with_media=2)
    return space


@pytest.mark.parametrize("ordering", ["newest", "longest_running"])
@pytest.mark.parametrize("with_brandspace", [False, True], ids=["all", "brandspace"])
def test_creative_list(token_client, creatives, ordering, with_brandspace):
    params = {"ordering": ordering}
    if with_brandspace:
        params["brandspace"] = creatives.pk
    small = queries_for(token_client, "/api/creatives/", {**params, "page_size": SMALL}, SMALL)
    large = queries_for(token_client, "/api/creatives/", {**params, "page_size": LARGE}, LARGE)
    assert_same_queries(small, large)


def test_creative_list_by_role(token_client, creatives):
    params = {"brandspace": creatives.pk, "role": "primary"}
    # 50 ads over three brands: the primary brand has 17 of them.
    small = queries_for(token_client, "/api/creatives/", {**params, "page_size": SMALL}, SMALL)
    large = queries_for(token_client, "/api/creatives/", {**params, "page_size": LARGE}, 17)
    assert_same_queries(small, large)


def test_creative_list_query_count_is_small(token_client, creatives):
    """Constant, and also small: auth, membership, brandspace with tracked brands, page, media."""
    with CaptureQueriesContext(connection) as ctx:
        response = token_client.get("/api/creatives/", {"brandspace": creatives.pk, "page_size": LARGE})
    assert response.status_code == 200
    assert len(ctx.captured_queries) <= 8, "\n".join(q["sql"] for q in ctx.captured_queries)
