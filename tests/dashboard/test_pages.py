"""The dashboard's pages through Django's test client: tenancy, roles, filters, settings
actions, and query counts that do not grow with the number of cards.

The same pages are driven in real Chromium in test_browser_*.py; these tests pin the
server's side of each promise precisely and quickly.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from brands.models import Membership, TrackedBrand
from ingestion.models import IngestionRun
from tests import factories

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_urls(space_id: int, creative_id: int) -> list[str]:
    return [
        reverse("dashboard:overview", args=[space_id]),
        reverse("dashboard:explorer", args=[space_id]),
        reverse("dashboard:explorer-cards", args=[space_id]),
        reverse("dashboard:ad-detail", args=[space_id, creative_id]),
        reverse("dashboard:compare", args=[space_id]),
        reverse("dashboard:settings", args=[space_id]),
    ]


@pytest.fixture
def market(brandspace):
    """Ads for each brand of the brandspace: primary 3 (1 stopped), competitor 2, followed 1."""
    brands = {"primary": brandspace.primary_brand}
    brands.update({t.role: t.brand for t in brandspace.tracked.select_related("brand")})
    ads = {
        "primary": [
            factories.CreativeFactory(brand=brands["primary"], with_media=1, title="Spring sale tents"),
            factories.CreativeFactory(brand=brands["primary"], with_media=2, days_running=40),
            factories.CreativeFactory(
                brand=brands["primary"], is_active=False, format="text", title="Old offer"
            ),
        ],
        "competitor": [
            factories.CreativeFactory(brand=brands["competitor"], format="video", platforms=["youtube"]),
            factories.CreativeFactory(
                brand=brands["competitor"],
                first_seen_at=timezone.now() - dt.timedelta(days=30),
                title="Winter boots",
            ),
        ],
        "followed": [factories.CreativeFactory(brand=brands["followed"], title="Followed brand ad")],
    }
    return brands, ads


def test_signed_out_visitors_are_sent_to_sign_in(brandspace):
    for url in ["/", reverse("dashboard:overview", args=[brandspace.pk])]:
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("dashboard:login"))


def test_sign_in_with_email_and_password_then_sign_out(owner, brandspace):
    client = Client()
    wrong = client.post(reverse("dashboard:login"), {"username": owner.email, "password": "nope"})
    assert wrong.status_code == 200
    assert "correct email and password" in wrong.content.decode()

    response = client.post(
        reverse("dashboard:login"), {"username": owner.email, "password": factories.PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("dashboard:overview", args=[brandspace.pk])
    assert brandspace.name in response.content.decode()

    client.post(reverse("dashboard:logout"))
    assert client.get("/").status_code == 302


def test_overview_counts_per_brand(owner, brandspace, market):
    brands, _ = market
    IngestionRun.objects.create(brand=brands["competitor"], source="meta", status="succeeded")
    html = signed_in(owner).get(reverse("dashboard:overview", args=[brandspace.pk])).content.decode()

    def row(brand):
        start = html.index(f'data-brand-id="{brand.pk}"')
        return html[start : html.index("</tr>", start)]

    primary = row(brands["primary"])
    assert 'data-stat="total">3<' in primary and 'data-stat="active">2<' in primary
    assert 'data-stat="new">3<' in primary and "Never run" in primary
    competitor = row(brands["competitor"])
    assert 'data-stat="total">2<' in competitor and 'data-stat="new">1<' in competitor
    assert "Succeeded" in competitor


def test_another_organizations_brandspace_is_a_404_that_leaks_nothing(owner, brandspace, market):
    _, ads = market
    other = factories.BrandspaceFactory(name="Secret Rival Plans")
    other_ad = factories.CreativeFactory(brand=other.primary_brand, title="Secret launch")
    client = signed_in(owner)
    for url in page_urls(other.pk, other_ad.pk):
        response = client.get(url)
        assert response.status_code == 404, url
        body = response.content.decode()
        assert "Secret Rival Plans" not in body and other.primary_brand.name not in body
        assert "Page not found" in body
    # An ad of another organization's brand, asked for under one's own brandspace: 404 too.
    response = client.get(reverse("dashboard:ad-detail", args=[brandspace.pk, other_ad.pk]))
    assert response.status_code == 404
    assert "Secret launch" not in response.content.decode()


def test_the_switcher_lists_only_the_organizations_brandspaces(owner, org, brandspace):
    mine = factories.BrandspaceFactory(organization=org, name="Second market")
    factories.BrandspaceFactory(name="Not yours")
    html = signed_in(owner).get(reverse("dashboard:overview", args=[brandspace.pk])).content.decode()
    assert "Second market" in html and f'href="/brandspaces/{mine.pk}/"' in html
    assert "Not yours" not in html


def test_explorer_filters_from_the_url(owner, brandspace, market):
    brands, ads = market
    client = signed_in(owner)
    url = reverse("dashboard:explorer", args=[brandspace.pk])

    def shown(**params) -> set[int]:
        response = client.get(url, params)
        assert response.status_code == 200
        return {card["id"] for card in response.context["cards"]}

    assert shown() == {a.pk for group in ads.values() for a in group}
    assert shown(role="competitor") == {a.pk for a in ads["competitor"]}
    assert shown(brand=brands["primary"].pk, active="false") == {ads["primary"][2].pk}
    assert shown(format="video") == {ads["competitor"][0].pk}
    assert shown(platform="youtube") == {ads["competitor"][0].pk}
    assert shown(min_days_running=30) == {ads["primary"][1].pk}
    assert shown(q="boots") == {ads["competitor"][1].pk}
    longest = client.get(url, {"ordering": "longest_running"}).context["cards"]
    assert longest[0]["id"] == ads["primary"][1].pk


def test_explorer_explains_bad_filters_and_never_widens_to_other_brands(owner, brandspace, market):
    outsider = factories.CreativeFactory(title="Outside ad")
    client = signed_in(owner)
    url = reverse("dashboard:explorer", args=[brandspace.pk])
    response = client.get(url, {"brand": outsider.brand_id, "min_days_running": "lots"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Some filters could not be used" in body
    assert "Brand:" in body and "Min. days running:" in body
    assert outsider.pk not in {card["id"] for card in response.context["cards"]}

    bad_dates = client.get(url, {"seen_since": "2026-02-01", "seen_until": "2026-01-01"})
    assert "seen_since must be on or before seen_until" in bad_dates.content.decode()


def test_explorer_pages_through_everything_once(owner, brandspace):
    brand = brandspace.primary_brand
    made = {factories.CreativeFactory(brand=brand).pk for _ in range(120)}
    client = signed_in(owner)
    response = client.get(reverse("dashboard:explorer", args=[brandspace.pk]))
    seen = [card["id"] for card in response.context["cards"]]
    next_page = response.context["next_query"]
    while next_page:
        fragment = client.get(f"{reverse('dashboard:explorer-cards', args=[brandspace.pk])}?{next_page}")
        seen += [card["id"] for card in fragment.context["cards"]]
        header = fragment.get("X-Next-Page")
        next_page = header.split("?", 1)[1] if header else None
    assert len(seen) == len(set(seen)) == 120 and set(seen) == made


def test_live_arrivals_are_filtered_like_the_page(owner, brandspace, market):
    _, ads = market
    url = reverse("dashboard:explorer-cards", args=[brandspace.pk])
    ids = ",".join(str(a.pk) for group in ads.values() for a in group)
    response = signed_in(owner).get(url, {"ids": ids, "role": "competitor"})
    assert {card["id"] for card in response.context["cards"]} == {a.pk for a in ads["competitor"]}


def test_query_count_does_not_grow_with_cards(owner, brandspace):
    brand = brandspace.primary_brand
    client = signed_in(owner)
    urls = [
        reverse("dashboard:overview", args=[brandspace.pk]),
        reverse("dashboard:explorer", args=[brandspace.pk]) + "?format=image",
        reverse("dashboard:compare", args=[brandspace.pk]),
    ]

    def counts() -> list[int]:
        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            result.append(len(queries))
        return result

    factories.CreativeFactory(brand=brand, with_media=1)
    counts()  # the first visit also stores the brandspace in the session
    few = counts()
    for _ in range(60):
        factories.CreativeFactory(brand=brand, with_media=2)
    assert counts() == few


def test_ad_detail_shows_everything_known_about_the_ad(owner, brandspace, market, mongo_settings):
    _, ads = market
    ad = ads["primary"][1]
    from adology import mongo

    mongo.collection(mongo.ANALYSES).insert_one(
        {
            "creative_id": ad.pk,
            "provider": "local",
            "models": {"text": "t1", "image": "i1"},
            "limitations": "Finds copies.",
            "analyzed_at": timezone.now(),
            "text": {
                "word_count": 7,
                "prices": ["$49"],
                "discount_mentions": ["20% off"],
                "call_to_action_mentions": ["shop now"],
                "exclamations": 1,
                "uppercase_ratio": 0.1,
            },
        }
    )
    body = signed_in(owner).get(reverse("dashboard:ad-detail", args=[brandspace.pk, ad.pk])).content.decode()
    assert ad.body in body and ad.title in body
    assert body.count('data-testid="ad-image"') == 2
    assert "$49" in body and "20% off" in body
    assert f"https://www.facebook.com/ads/library/?id={ad.source_ad_id}" in body
    assert 'data-testid="days-running">40<' in body


def test_ad_detail_without_the_analysis_store_still_shows_the_ad(owner, brandspace, market, settings):
    settings.MONGO_URL = "mongodb://127.0.0.1:9/adology?serverSelectionTimeoutMS=200"
    from adology import mongo

    mongo._client.cache_clear()
    mongo._indexed.cache_clear()
    _, ads = market
    ad = ads["primary"][0]
    started = time.monotonic()
    response = signed_in(owner).get(reverse("dashboard:ad-detail", args=[brandspace.pk, ad.pk]))
    waited = time.monotonic() - started
    mongo._client.cache_clear()
    mongo._indexed.cache_clear()
    assert response.status_code == 200
    body = response.content.decode()
    assert ad.title in body and "The analysis cannot be shown right now" in body
    assert waited < 2  # the URL's 200 ms server-selection timeout, not the 5 s default


@pytest.fixture
def mongo_settings(settings, mongo_url):
    from adology import mongo

    settings.MONGO_URL = mongo_url
    yield
    mongo.collection(mongo.ANALYSES).delete_many({})


def test_owner_manages_brands_in_settings(owner, brandspace):
    newcomer = factories.BrandFactory(name="Northface Rival", domains=["rival.example"])
    client = signed_in(owner)
    url = reverse("dashboard:settings", args=[brandspace.pk])
    found = client.get(url, {"q": "rival"}).content.decode()
    assert "Northface Rival" in found and "rival.example" in found

    response = client.post(url, {"action": "add", "brand": newcomer.pk, "role": "competitor"}, follow=True)
    assert "Northface Rival added as a competitor brand" in response.content.decode()
    assert TrackedBrand.objects.filter(brandspace=brandspace, brand=newcomer, role="competitor").exists()

    again = client.post(url, {"action": "add", "brand": newcomer.pk, "role": "competitor"}, follow=True)
    assert "tracked in this brandspace already" in again.content.decode()

    client.post(url, {"action": "rename", "name": "Outdoor, renamed"})
    brandspace.refresh_from_db()
    assert brandspace.name == "Outdoor, renamed"

    client.post(url, {"action": "remove", "brand": newcomer.pk})
    assert not TrackedBrand.objects.filter(brandspace=brandspace, brand=newcomer).exists()

    other = factories.BrandFactory(name="New Primary")
    client.post(url, {"action": "primary", "brand": other.pk})
    brandspace.refresh_from_db()
    assert brandspace.primary_brand == other


def test_a_tracked_brand_made_primary_swaps_places_with_the_primary(owner, brandspace):
    old_primary = brandspace.primary_brand
    competitor = brandspace.tracked.get(role="competitor").brand
    url = reverse("dashboard:settings", args=[brandspace.pk])
    response = signed_in(owner).post(url, {"action": "primary", "brand": competitor.pk}, follow=True)
    assert f"{competitor.name} is now the primary brand" in response.content.decode()
    brandspace.refresh_from_db()
    assert brandspace.primary_brand == competitor
    roles = dict(brandspace.tracked.values_list("brand_id", "role"))
    assert roles[old_primary.pk] == "competitor" and competitor.pk not in roles
    assert len(roles) == 2  # nothing left the brandspace


def test_member_sees_settings_read_only_and_cannot_change_them(member, brandspace):
    newcomer = factories.BrandFactory(name="Sneaky Add")
    client = signed_in(member)
    url = reverse("dashboard:settings", args=[brandspace.pk])
    page = client.get(url).content.decode()
    assert "Only owners and admins can change a brandspace" in page
    response = client.post(url, {"action": "add", "brand": newcomer.pk, "role": "competitor"}, follow=True)
    assert not TrackedBrand.objects.filter(brand=newcomer).exists()
    assert (
        "Only an organization&#x27;s owners and admins may change a brandspace." in response.content.decode()
    )
    overview = client.get(reverse("dashboard:overview", args=[brandspace.pk])).content.decode()
    assert 'data-testid="refresh-now" disabled' in overview
    refused = client.post(reverse("dashboard:refresh", args=[brandspace.pk]))
    assert refused.status_code == 302 and not IngestionRun.objects.exists()


def test_refresh_now_starts_runs_for_the_brands_with_identities(owner, brandspace):
    factories.BrandIdentityFactory(brand=brandspace.primary_brand, source="meta")
    client = signed_in(owner)
    url = reverse("dashboard:refresh", args=[brandspace.pk])
    response = client.post(url, HTTP_X_REQUESTED_WITH="fetch")
    assert response.status_code == 202
    assert response["X-Message"] == "Refreshing 1 brand: 1 run queued."
    assert IngestionRun.objects.filter(brand=brandspace.primary_brand, status="queued").count() == 1


def test_member_role_comes_from_the_membership(org, brandspace):
    admin = factories.member(org, Membership.Role.ADMIN)
    response = signed_in(admin).get(reverse("dashboard:settings", args=[brandspace.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Only owners and admins" not in page and "disabled" not in page
    assert 'value="rename"' in page


def test_a_landing_page_that_is_not_a_web_address_is_never_a_link(owner, brandspace):
    ad = factories.CreativeFactory(brand=brandspace.primary_brand, link_url="javascript:alert(1)")
    body = signed_in(owner).get(reverse("dashboard:ad-detail", args=[brandspace.pk, ad.pk])).content.decode()
    assert 'href="javascript:' not in body
    assert "not a web address" in body


def test_a_script_whose_session_ended_is_told_so_not_sent_a_sign_in_page(brandspace):
    client = Client()
    for url in (
        reverse("dashboard:overview", args=[brandspace.pk]) + "?fragment=brands",
        reverse("dashboard:explorer-cards", args=[brandspace.pk]),
    ):
        response = client.get(url, HTTP_X_REQUESTED_WITH="fetch")
        assert response.status_code == 401
        assert response.content.decode() == "Your session has ended; sign in again."
    refused = client.post(reverse("dashboard:refresh", args=[brandspace.pk]), HTTP_X_REQUESTED_WITH="fetch")
    assert refused.status_code == 401 and not IngestionRun.objects.exists()
