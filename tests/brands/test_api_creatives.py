"""What a customer sees through the API: creatives with their filters and paging, the brand
catalog search, brandspace management, `/api/me/` and token sign-in."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from brands.models import Brandspace, Creative, Membership, TrackedBrand
from tests import factories

pytestmark = pytest.mark.django_db


def at(day: str) -> dt.datetime:
    """Noon UTC on `day`, so date filters never sit on a boundary by accident."""
    return dt.datetime.fromisoformat(f"{day}T12:00:00+00:00")


# --- creatives ------------------------------------------------------------------------


@pytest.fixture
def market(org):
    """A brandspace (primary, competitor, followed) plus a brand outside it, with one to two ads each."""
    primary, competitor, followed, outsider = factories.BrandFactory.create_batch(4)
    space = factories.BrandspaceFactory(organization=org, primary_brand=primary)
    factories.TrackedBrandFactory(brandspace=space, brand=competitor, role="competitor")
    factories.TrackedBrandFactory(brandspace=space, brand=followed, role="followed")
    ads = {
        "p1": factories.CreativeFactory(
            brand=primary,
            format="image",
            platforms=["facebook", "instagram"],
            is_active=True,
            days_running=5,
            first_seen_at=at("2024-01-10"),
            last_seen_at=at("2024-01-20"),
            title="Summer sale",
            body="Big savings on tents",
        ),
        "p2": factories.CreativeFactory(
            brand=primary,
            format="video",
            platforms=["instagram"],
            is_active=False,
            days_running=40,
            first_seen_at=at("2024-02-01"),
            last_seen_at=at("2024-03-01"),
            title="Boots",
            body="Hiking boots on offer",
        ),
        "c1": factories.CreativeFactory(
            brand=competitor,
            format="carousel",
            platforms=["facebook"],
            is_active=True,
            days_running=100,
            first_seen_at=at("2023-11-01"),
            last_seen_at=at("2024-02-15"),
            title="Winter jackets",
            body="Stay warm",
        ),
        "f1": factories.CreativeFactory(
            brand=followed,
            format="text",
            platforms=["audience_network"],
            is_active=True,
            days_running=0,
            first_seen_at=at("2024-03-05"),
            last_seen_at=at("2024-03-06"),
            title="Hello",
            body="SUMMER is here",
        ),
        "u1": factories.CreativeFactory(
            brand=outsider,
            format="image",
            platforms=["facebook"],
            is_active=True,
            days_running=12,
            first_seen_at=at("2024-01-15"),
            last_seen_at=at("2024-01-16"),
            title="Unrelated",
            body="Nothing to see",
        ),
    }
    return {"space": space, "ads": ads, "outsider": outsider}


@pytest.fixture
def reader(client_for, member):
    return client_for(member)


def names(market, response) -> list[str]:
    """The fixture names of the creatives in a response, in order."""
    assert response.status_code == 200, response.content
    by_id = {creative.pk: name for name, creative in market["ads"].items()}
    return [by_id[row["id"]] for row in response.json()["results"]]


def test_no_filter_lists_every_creative_newest_first(reader, market):
    assert names(market, reader.get("/api/creatives/")) == ["f1", "p2", "u1", "p1", "c1"]


def test_brandspace_filter_with_roles(reader, market):
    response = reader.get("/api/creatives/", {"brandspace": market["space"].pk})
    assert names(market, response) == ["f1", "p2", "p1", "c1"]
    roles = {row["id"]: row["role"] for row in response.json()["results"]}
    ads = market["ads"]
    assert roles == {
        ads["f1"].pk: "followed",
        ads["p2"].pk: "primary",
        ads["p1"].pk: "primary",
        ads["c1"].pk: "competitor",
    }


@pytest.mark.parametrize(
    ("role", "expected"),
    [("primary", ["p2", "p1"]), ("competitor", ["c1"]), ("followed", ["f1"])],
)
def test_role_filter(reader, market, role, expected):
    response = reader.get("/api/creatives/", {"brandspace": market["space"].pk, "role": role})
    assert names(market, response) == expected
    assert {row["role"] for row in response.json()["results"]} == {role}


def test_without_brandspace_there_is_no_role(reader, market):
    response = reader.get("/api/creatives/")
    assert {row["role"] for row in response.json()["results"]} == {None}


def test_brand_filter(reader, market):
    assert names(market, reader.get("/api/creatives/", {"brand": market["outsider"].pk})) == ["u1"]
    primary = market["space"].primary_brand_id
    assert names(market, reader.get("/api/creatives/", {"brand": primary})) == ["p2", "p1"]
    assert names(market, reader.get("/api/creatives/", {"brand": 987654321})) == []


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("image", ["u1", "p1"]), ("video", ["p2"]), ("carousel", ["c1"]), ("text", ["f1"])],
)
def test_format_filter(reader, market, fmt, expected):
    assert names(market, reader.get("/api/creatives/", {"format": fmt})) == expected


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("instagram", ["p2", "p1"]),
        ("Facebook", ["u1", "p1", "c1"]),
        ("audience_network", ["f1"]),
        ("tiktok", []),
    ],
)
def test_platform_filter(reader, market, platform, expected):
    assert names(market, reader.get("/api/creatives/", {"platform": platform})) == expected


@pytest.mark.parametrize(
    ("active", "expected"),
    [("true", ["f1", "u1", "p1", "c1"]), ("false", ["p2"])],
)
def test_active_filter(reader, market, active, expected):
    assert names(market, reader.get("/api/creatives/", {"active": active})) == expected


@pytest.mark.parametrize(
    ("days", "expected"),
    [("0", ["f1", "p2", "u1", "p1", "c1"]), ("12", ["p2", "u1", "c1"]), ("41", ["c1"]), ("101", [])],
)
def test_min_days_running_filter(reader, market, days, expected):
    assert names(market, reader.get("/api/creatives/", {"min_days_running": days})) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # seen_since: still seen on or after the day (last seen, inclusive).
        ({"seen_since": "2024-02-15"}, ["f1", "p2", "c1"]),
        ({"seen_since": "2024-03-07"}, []),
        # seen_until: already seen on or before the day (first seen, inclusive).
        ({"seen_until": "2024-01-10"}, ["p1", "c1"]),
        ({"seen_until": "2023-10-31"}, []),
        # Both: seen at some point within the window.
        ({"seen_since": "2024-01-16", "seen_until": "2024-01-31"}, ["u1", "p1", "c1"]),
        ({"seen_since": "2024-03-01", "seen_until": "2024-03-01"}, ["p2"]),
    ],
)
def test_seen_window_filters(reader, market, params, expected):
    assert names(market, reader.get("/api/creatives/", params)) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("summer", ["f1", "p1"]),  # title of p1, body of f1, either case
        ("boots", ["p2"]),
        ("WINTER JACKETS", ["c1"]),
        ("tents", ["p1"]),
        ("nowhere to be found", []),
    ],
)
def test_text_filter(reader, market, q, expected):
    assert names(market, reader.get("/api/creatives/", {"q": q})) == expected


def test_filters_combine(reader, market):
    params = {"brandspace": market["space"].pk, "active": "true", "platform": "facebook"}
    assert names(market, reader.get("/api/creatives/", params)) == ["p1", "c1"]
    params = {"brandspace": market["space"].pk, "role": "primary", "min_days_running": "6"}
    assert names(market, reader.get("/api/creatives/", params)) == ["p2"]


def test_ordering(reader, market):
    assert names(market, reader.get("/api/creatives/", {"ordering": "newest"})) == [
        "f1",
        "p2",
        "u1",
        "p1",
        "c1",
    ]
    response = reader.get("/api/creatives/", {"ordering": "longest_running"})
    assert names(market, response) == ["c1", "p2", "u1", "p1", "f1"]
    response = reader.get(
        "/api/creatives/", {"ordering": "longest_running", "brandspace": market["space"].pk}
    )
    assert names(market, response) == ["c1", "p2", "p1", "f1"]


def walk(client, url: str, params: dict) -> tuple[list[int], int]:
    """Follow `next` links to the end; the ids seen in order, and the number of pages.

    Stops early (and the caller's assertions fail) as soon as a page repeats a row.
    """
    ids, pages = [], 0
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        pages += 1
        page_ids = [row["id"] for row in body["results"]]
        repeated = set(page_ids) & set(ids)
        ids += page_ids
        if not body["next"] or repeated:
            return ids, pages
        response = client.get(body["next"])


@pytest.mark.parametrize("ordering", ["newest", "longest_running"])
def test_cursor_pagination_walks_every_row_once(reader, ordering):
    brand = factories.BrandFactory()
    # Many ties on both sort keys: only the id tie-breaker keeps pages apart.
    creatives = [
        factories.CreativeFactory(
            brand=brand, first_seen_at=at(f"2024-01-{1 + n // 4:02d}"), days_running=n % 3
        )
        for n in range(23)
    ]
    sort_field = "first_seen_at" if ordering == "newest" else "days_running"
    expected = [c.pk for c in sorted(creatives, key=lambda c: (getattr(c, sort_field), c.pk), reverse=True)]

    ids, pages = walk(reader, "/api/creatives/", {"ordering": ordering, "page_size": 5})
    assert pages == 5
    assert len(ids) == len(set(ids))
    assert ids == expected


def test_cursor_pagination_walks_back_with_previous(reader):
    brand = factories.BrandFactory()
    # A batch of ads first seen at the same moment, as one ingestion run commits them.
    creatives = [factories.CreativeFactory(brand=brand, first_seen_at=at("2024-05-01")) for _ in range(7)]
    expected = sorted((c.pk for c in creatives), reverse=True)

    first = reader.get("/api/creatives/", {"page_size": 3}).json()
    assert first["previous"] is None
    second = reader.get(first["next"]).json()
    third = reader.get(second["next"]).json()
    assert third["next"] is None
    assert [r["id"] for r in first["results"] + second["results"] + third["results"]] == expected
    back = reader.get(third["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in second["results"]]
    front = reader.get(back["previous"]).json()
    assert [r["id"] for r in front["results"]] == [r["id"] for r in first["results"]]


def test_cursor_pagination_walks_back_without_ties(reader):
    brand = factories.BrandFactory()
    creatives = [
        factories.CreativeFactory(brand=brand, first_seen_at=at(f"2024-05-{n + 1:02d}")) for n in range(7)
    ]
    expected = [c.pk for c in reversed(creatives)]
    first = reader.get("/api/creatives/", {"page_size": 3}).json()
    second = reader.get(first["next"]).json()
    third = reader.get(second["next"]).json()
    assert [r["id"] for r in first["results"] + second["results"] + third["results"]] == expected
    back = reader.get(third["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in second["results"]]


def test_longest_running_pages_through_more_than_a_thousand_ties(reader):
    brand = factories.BrandFactory()
    # Every ad first seen today runs for 0 days: ties on the sort key are the normal case.
    Creative.objects.bulk_create(
        Creative(brand=brand, source="meta", source_ad_id=f"tie{n}", format="image", days_running=0)
        for n in range(1250)
    )
    ids, _ = walk(reader, "/api/creatives/", {"ordering": "longest_running", "page_size": 200})
    assert len(ids) == len(set(ids)) == 1250


def test_cursor_pagination_keeps_filters(reader, market):
    space = market["space"]
    ids, pages = walk(reader, "/api/creatives/", {"brandspace": space.pk, "page_size": 1})
    assert pages == 4
    ads = market["ads"]
    assert ids == [ads[n].pk for n in ("f1", "p2", "p1", "c1")]


def test_creative_detail(reader, market):
    creative = factories.CreativeFactory(brand=market["outsider"], with_media=2, title="With media")
    response = reader.get(f"/api/creatives/{creative.pk}/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == creative.pk
    assert body["title"] == "With media"
    assert body["brand"] == {
        "id": creative.brand.pk,
        "name": creative.brand.name,
        "slug": creative.brand.slug,
    }
    assert body["source_ad_id"] == creative.source_ad_id
    links = list(creative.media_links.order_by("position").select_related("media"))
    assert [m["sha256"] for m in body["media"]] == [link.media.sha256 for link in links]
    for media in body["media"]:
        assert media["url"]
        assert media["thumbnail_url"]  # images are their own thumbnails


def test_creative_detail_missing_is_404(reader, market):
    response = reader.get("/api/creatives/987654321/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# --- brand catalog search -------------------------------------------------------------


@pytest.fixture
def catalog(db):
    return {
        "trailhead": factories.BrandFactory(
            name="Trailhead Gear", slug="trailhead-gear", domains=["trailgear.example"]
        ),
        "summit": factories.BrandFactory(
            name="Summit Supply", slug="summit-supply", domains=["summitsupply.example", "summit.shop"]
        ),
        "ridge": factories.BrandFactory(name="Ridgeline", slug="ridgeline", domains=["ridgeline.example"]),
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("Trailhead", ["trailhead"]),
        ("trailhead gear", ["trailhead"]),
        ("SUPPLY", ["summit"]),
        ("summit.shop", ["summit"]),  # by a second domain
        ("trailgear", ["trailhead"]),  # by domain only: the name is "Trailhead Gear"
        ("RIDGELINE.EXAMPLE", ["ridge"]),
        ("example", ["ridge", "summit", "trailhead"]),
        ("nothing-like-it", []),
    ],
)
def test_brand_search(reader, catalog, q, expected):
    response = reader.get("/api/brands/", {"q": q})
    assert response.status_code == 200, response.content
    by_id = {brand.pk: name for name, brand in catalog.items()}
    assert [by_id[row["id"]] for row in response.json()["results"]] == expected


def test_brand_list_and_detail(reader, catalog):
    factories.BrandIdentityFactory(brand=catalog["ridge"], source="google", external_id="AR1")
    response = reader.get("/api/brands/")
    assert response.status_code == 200
    assert response.json()["count"] == 3
    detail = reader.get(f"/api/brands/{catalog['ridge'].pk}/").json()
    assert detail["name"] == "Ridgeline"
    assert detail["domains"] == ["ridgeline.example"]
    assert detail["identities"] == [{"source": "google", "external_id": "AR1"}]


# --- brandspaces ----------------------------------------------------------------------


def test_brandspace_crud(client_for, owner, member):
    client = client_for(owner)
    primary, rival, friend, new_primary = factories.BrandFactory.create_batch(4)

    response = client.post(
        "/api/brandspaces/",
        {
            "name": "Outdoor market",
            "primary_brand": primary.pk,
            "tracked_brands": [
                {"brand": rival.pk, "role": "competitor"},
                {"brand": friend.pk, "role": "followed"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["name"] == "Outdoor market"
    assert created["primary_brand"]["id"] == primary.pk
    assert {(t["brand"]["id"], t["role"]) for t in created["tracked_brands"]} == {
        (rival.pk, "competitor"),
        (friend.pk, "followed"),
    }
    space_id = created["id"]
    assert set(TrackedBrand.objects.filter(brandspace_id=space_id).values_list("brand_id", "role")) == {
        (rival.pk, "competitor"),
        (friend.pk, "followed"),
    }

    # Members of the organization see it.
    listed = client_for(member).get("/api/brandspaces/").json()
    assert [row["id"] for row in listed] == [space_id]

    response = client.patch(f"/api/brandspaces/{space_id}/", {"name": "Trail market"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Trail market"

    response = client.patch(f"/api/brandspaces/{space_id}/", {"primary_brand": new_primary.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["primary_brand"]["id"] == new_primary.pk
    assert response.json()["name"] == "Trail market"
    space = Brandspace.objects.get(pk=space_id)
    assert (space.name, space.primary_brand_id) == ("Trail market", new_primary.pk)

    response = client.delete(f"/api/brandspaces/{space_id}/")
    assert response.status_code == 204
    assert not Brandspace.objects.filter(pk=space_id).exists()
    assert client.get(f"/api/brandspaces/{space_id}/").status_code == 404
    assert client.get("/api/brandspaces/").json() == []


def test_brandspace_without_tracked_brands(client_for, owner):
    primary = factories.BrandFactory()
    response = client_for(owner).post(
        "/api/brandspaces/", {"name": "Solo", "primary_brand": primary.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["tracked_brands"] == []


def test_rename_to_the_same_name_in_other_case(client_for, owner, brandspace):
    response = client_for(owner).patch(
        f"/api/brandspaces/{brandspace.pk}/", {"name": brandspace.name.upper()}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == brandspace.name.upper()


# --- who am I, and signing in ---------------------------------------------------------


def test_me(client_for, org, admin_user_of_org):
    response = client_for(admin_user_of_org).get("/api/me/")
    assert response.status_code == 200
    assert response.json() == {
        "id": admin_user_of_org.pk,
        "email": admin_user_of_org.email,
        "full_name": admin_user_of_org.full_name,
        "organization": {"id": org.pk, "name": org.name},
        "role": "admin",
    }


def test_me_without_organization(client_for):
    user = factories.UserFactory()
    body = client_for(user).get("/api/me/").json()
    assert body["email"] == user.email
    assert body["organization"] is None
    assert body["role"] is None


def test_token_sign_in_then_use_the_token(owner):
    client = APIClient()
    response = client.post(
        "/api/auth/token/", {"email": owner.email.upper(), "password": factories.PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    assert token

    # The same token comes back on a second sign-in.
    again = client.post(
        "/api/auth/token/", {"email": owner.email, "password": factories.PASSWORD}, format="json"
    )
    assert again.json()["token"] == token

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/me/")
    assert me.status_code == 200
    assert me.json()["email"] == owner.email
    assert me.json()["role"] == Membership.Role.OWNER


def _assert_refused(response):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "detail"}
    assert error["message"]
    assert "token" not in response.json()


def test_token_wrong_password(owner):
    response = APIClient().post(
        "/api/auth/token/", {"email": owner.email, "password": "wrong-password"}, format="json"
    )
    _assert_refused(response)


def test_token_unknown_email(db):
    response = APIClient().post(
        "/api/auth/token/", {"email": "nobody@example.com", "password": factories.PASSWORD}, format="json"
    )
    _assert_refused(response)


def test_token_inactive_user(owner):
    owner.is_active = False
    owner.save()
    response = APIClient().post(
        "/api/auth/token/", {"email": owner.email, "password": factories.PASSWORD}, format="json"
    )
    _assert_refused(response)


def test_token_of_a_deactivated_user_stops_working(owner):
    client = APIClient()
    token = client.post(
        "/api/auth/token/", {"email": owner.email, "password": factories.PASSWORD}, format="json"
    ).json()["token"]
    owner.is_active = False
    owner.save()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get("/api/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_token_missing_password_names_the_field(owner):
    response = APIClient().post("/api/auth/token/", {"email": owner.email}, format="json")
    _assert_refused(response)
    assert "password" in response.json()["error"]["detail"]


def test_browser_session_signs_in_and_needs_csrf_to_write(owner):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(email=owner.email, password=factories.PASSWORD)
    assert client.get("/api/me/").json()["email"] == owner.email
    brand = factories.BrandFactory()
    response = client.post("/api/brandspaces/", {"name": "No CSRF", "primary_brand": brand.pk}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not Brandspace.objects.filter(name="No CSRF").exists()
