"""The dashboard in real Chromium, as a customer uses it (issue 5, "Tests in real Chromium").

1. Sign in, switch brandspace, filter the explorer (shareable URL), open an ad, sign out.
2. "Refresh now" on the overview: the progress bar moves, ad cards arrive and the counts
   update, all without a reload (a real ingestion: SQS, Celery worker, sample ad source).
3. An owner adds a competitor from the catalog and its ads arrive with the next run; a member
   sees settings read-only and a forged POST of theirs is refused with a message.
4. Another organization's brandspace by URL: the 404 page, and none of its names in the HTML.
5. Compare: the tables and the charts' marks show the numbers computed here from known ads.
6. Every page at laptop and phone widths: screenshots, no sideways scrolling on a phone, a page
   of 50 cards that does not move as its images arrive, keyboard reachability.

Pages without a run are served by `media_site`: the app on uvicorn with its media on S3 (moto)
and its analysis store on Mongo (the test's stand-in), as in production, so images are real
files served by the storage and the ad page reads the analysis store without waiting it out.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from brands.models import Creative, Membership, TrackedBrand
from ingestion.models import IngestionRun
from ingestion.sources.sample import render_image
from tests import factories
from tests.dashboard.conftest import PREFIX, VIEWPORTS, screenshot, signed_in
from tests.servers import AsgiServer, server_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RUN_TIMEOUT_S = 90


# --- fixtures ----------------------------------------------------------------------------------


@dataclass
class MediaSite:
    server: AsgiServer
    bucket: str
    s3: object

    def upload(self, key: str, body: bytes, content_type: str = "image/jpeg") -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)


@pytest.fixture(scope="module")
def media_site(
    django_db_setup, django_db_blocker, moto_server, mongo_url, aws_credentials
) -> Iterator[MediaSite]:
    """The app on uvicorn with media on S3 (moto) and the analysis store on Mongo."""
    bucket = f"adology-dashb-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    with django_db_blocker.unblock():
        env = server_env(
            {
                **aws_credentials,
                "AWS_ENDPOINT_URL": moto_server,
                "AWS_STORAGE_BUCKET_NAME": bucket,
                "MONGO_URL": mongo_url,
            },
            channel_prefix=PREFIX,
        )
    server = AsgiServer(env)
    try:
        yield MediaSite(server=server, bucket=bucket, s3=s3)
    finally:
        server.stop()


@pytest.fixture
def app_server(request) -> AsgiServer:
    """This module's pages go to the pipeline's server when the test runs ingestion, else to
    `media_site` (overrides conftest's, whose default server keeps media on local disk)."""
    if "pipeline" in request.fixturenames:
        return request.getfixturevalue("pipeline").server
    return request.getfixturevalue("media_site").server


# --- helpers -----------------------------------------------------------------------------------


class RequestsInFlight:
    """The page's requests not yet answered, so a test can let images arriving live finish
    before it navigates away (a navigation cancels them, and they would count as failed)."""

    def __init__(self, page):
        self.page = page
        self.pending: set = set()
        page.on("request", lambda request: self.pending.add(request))
        page.on("requestfinished", lambda request: self.pending.discard(request))
        page.on("requestfailed", lambda request: self.pending.discard(request))

    def wait_until_idle(self, *, quiet_ms: int = 300, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        quiet_since = None
        while True:
            if self.pending:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_ms / 1000:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"still loading after {timeout}s: {[r.url for r in self.pending]}")
            self.page.wait_for_timeout(50)


def open_tab(page, name: str) -> None:
    page.get_by_role("navigation", name="Brandspace pages").get_by_role("link", name=name, exact=True).click()


def card_ids(page, testid: str = "ad-grid") -> list[int]:
    return [
        int(value)
        for value in page.locator(f"[data-testid={testid}] article[data-testid=ad-card]").evaluate_all(
            "cards => cards.map(card => card.dataset.creativeId)"
        )
    ]


WIDER_THAN_SCREEN = """() => [...document.querySelectorAll("body *")]
  .filter(el => el.getBoundingClientRect().right > innerWidth + 1)
  .slice(0, 6)
  .map(el => `${el.outerHTML.slice(0, 90)} right=${Math.round(el.getBoundingClientRect().right)}`)"""


def sideways_scroll_on_a_phone(page, name: str) -> str | None:
    """None when, at a phone's width, the page scrolls only up and down; else what is too wide."""
    page.set_viewport_size(VIEWPORTS["phone"])
    try:
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        widths = page.evaluate(
            "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
        )
        if widths["scroll"] <= widths["inner"] + 1:
            return None
        return f"{name} scrolls sideways on a phone: {widths}; too wide: {page.evaluate(WIDER_THAN_SCREEN)}"
    finally:
        page.set_viewport_size(VIEWPORTS["laptop"])


def shoot(page, name: str) -> str | None:
    """Screenshots at both widths; returns what scrolls sideways on a phone, if anything."""
    too_wide = sideways_scroll_on_a_phone(page, name)
    for path in screenshot(page, name):
        assert path.stat().st_size > 0
    return too_wide


def refused_problems(
    url: str, status: int = 404, reason: str = "Not Found", method: str = "GET"
) -> list[str]:
    """What `page_problems` holds after an expected refusal: the response, and Chromium's log of it."""
    return [
        f"{status} {method} {url}",
        "console: Failed to load resource: the server responded with a status of "
        f"{status} ({reason}) ({url})",
    ]


def wait_for_runs(brand_ids, *, timeout: float = RUN_TIMEOUT_S) -> list[IngestionRun]:
    """The brands' runs once none is active any more (they finish in the worker's process)."""
    deadline = time.monotonic() + timeout
    runs = IngestionRun.objects.filter(brand_id__in=brand_ids)
    while runs.filter(status__in=IngestionRun.ACTIVE_STATUSES).exists() or not runs.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"runs still going after {timeout}s: {list(runs.values('id', 'status'))}")
        time.sleep(0.25)
    return list(runs)


def ads_in_db(brand_id: int) -> int:
    return Creative.objects.filter(brand_id=brand_id).count()


def store_media(site: MediaSite, creative: Creative) -> None:
    """Puts a real picture in the bucket for each of the creative's media files."""
    for link in creative.media_links.select_related("media"):
        media = link.media
        site.upload(
            media.storage_key,
            render_image(
                str(creative.brand_id),
                creative.pk % 7,
                media.width,
                media.height,
                "jpg",
                80,
                0,
                creative.title,
            ),
        )


# --- 1. sign in, switch, filter, open, sign out ------------------------------------------------


def test_sign_in_switch_brandspace_filter_open_an_ad_and_sign_out(page, page_problems):
    org = factories.OrganizationFactory()
    user = factories.member(org, Membership.Role.MEMBER)
    alpha = factories.BrandspaceFactory(organization=org, name="Alpha Outdoor")
    beta = factories.BrandspaceFactory(
        organization=org, name="Beta Trails", primary_brand__name="Beta Trails' primary"
    )
    rival = factories.TrackedBrandFactory(
        brandspace=beta, role="competitor", brand__name="Ridgeway Gear"
    ).brand
    factories.CreativeFactory(brand=alpha.primary_brand, format="video", title="Alpha only")
    factories.CreativeFactory(brand=beta.primary_brand, format="video", title="Our own video")
    factories.CreativeFactory(brand=beta.primary_brand, format="image", title="Our own image")
    wanted = [
        factories.CreativeFactory(
            brand=rival,
            format="video",
            title="Ridgeway boots video",
            body="Boots that climb. Shop the fall range.",
        ),
        factories.CreativeFactory(brand=rival, format="video", title="Ridgeway tent video", days_running=30),
    ]
    factories.CreativeFactory(brand=rival, format="video", is_active=False, title="Old Ridgeway video")
    factories.CreativeFactory(brand=rival, format="image", title="Ridgeway image")

    signed_in(page, user)
    expect(page).to_have_url(re.compile(rf"/brandspaces/{alpha.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Outdoor")

    # The switcher lists exactly the organization's brandspaces.
    switcher = page.get_by_test_id("brandspace-switcher")
    switcher.locator("summary").click()
    expect(switcher.get_by_role("link")).to_have_text(["Alpha Outdoor", "Beta Trails"])
    switcher.get_by_role("link", name="Beta Trails").click()
    expect(page).to_have_url(re.compile(rf"/brandspaces/{beta.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Beta Trails")

    open_tab(page, "Ads")
    expect(page.get_by_test_id("ad-card")).to_have_count(6)
    filters = page.get_by_test_id("filters")
    # Each choice once, the "any" one named for people (checked at the end, after the journey).
    offered = {
        name: filters.get_by_label(name, exact=True).locator("option").all_inner_texts()
        for name in ("Brand", "Role", "Format", "Status")
    }
    filters.get_by_label("Brand", exact=True).select_option(label="Ridgeway Gear")
    filters.get_by_label("Format", exact=True).select_option("video")
    filters.get_by_label("Status", exact=True).select_option("true")
    filters.get_by_role("button", name="Apply").click()

    expect(page).to_have_url(re.compile(rf"[?&]brand={rival.pk}(&|$)"))
    assert "format=video" in page.url and "active=true" in page.url
    expect(page.get_by_test_id("ad-card")).to_have_count(2)
    shown = card_ids(page)
    assert sorted(shown) == sorted(c.pk for c in wanted)
    # The form shows the filters it applied.
    expect(filters.get_by_label("Brand", exact=True)).to_have_value(str(rival.pk))
    expect(filters.get_by_label("Format", exact=True)).to_have_value("video")

    # The URL is the view: opened afresh it shows the same cards in the same order.
    shared = page.context.new_page()
    try:
        shared.goto(page.url)
        expect(shared.get_by_test_id("ad-card")).to_have_count(2)
        assert card_ids(shared) == shown
    finally:
        shared.close()

    boots = wanted[0]
    page.locator(f"article[data-creative-id='{boots.pk}'] a.card-link").click()
    expect(page).to_have_url(re.compile(rf"/brandspaces/{beta.pk}/ads/{boots.pk}/$"))
    detail = page.get_by_test_id("ad-detail")
    expect(detail.get_by_role("heading", level=1)).to_have_text("Ridgeway boots video")
    expect(page.get_by_test_id("ad-body")).to_have_text("Boots that climb. Shop the fall range.")
    expect(page.get_by_test_id("days-running")).to_have_text(str(boots.days_running))

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("heading", name="Sign in to Adology")).to_be_visible()
    page.goto(f"/brandspaces/{beta.pk}/ads/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    assert "Ridgeway" not in page.content()
    assert page_problems == []
    assert offered == {
        "Brand": ["All brands", "Beta Trails' primary", "Ridgeway Gear"],
        "Role": ["All roles", "Primary", "Competitor", "Followed"],
        "Format": ["All formats", "Image", "Video", "Text", "Carousel"],
        "Status": ["Active or not", "Active", "Stopped"],
    }


# --- 2. a live run from the overview -----------------------------------------------------------

RECORD_PROGRESS = """() => {
  window.__progress = [];
  const rows = document.querySelector("[data-live=brand-rows]");
  const record = () => {
    for (const row of rows.querySelectorAll("[data-testid=brand-row]")) {
      const box = row.querySelector("[data-run-progress]");
      const bar = row.querySelector("progress");
      if (!box || box.hidden) continue;
      const state = {
        brand: Number(row.dataset.brandId),
        value: bar.hasAttribute("value") ? bar.value : null,
        max: bar.max,
        text: box.textContent.trim(),
        width: box.getBoundingClientRect().width,
      };
      const last = window.__progress[window.__progress.length - 1];
      if (!last || JSON.stringify(last) !== JSON.stringify(state)) window.__progress.push(state);
    }
  };
  const what = {subtree: true, childList: true, attributes: true, characterData: true};
  new MutationObserver(record).observe(rows, what);
}"""


def test_refresh_now_shows_progress_new_ads_and_final_counts_without_a_reload(page, page_problems, pipeline):
    org = factories.OrganizationFactory()
    owner = factories.member(org, Membership.Role.OWNER)
    space = factories.BrandspaceFactory(organization=org, name="Live Market")
    rival = factories.TrackedBrandFactory(brandspace=space, role="competitor", brand__name="Rival Live").brand
    brands = [space.primary_brand, rival]
    for brand in brands:
        factories.BrandIdentityFactory(brand=brand, source="meta")
    # Every answer of the sample source (pages and media) takes this long, so a run lasts a few
    # seconds, as a real one does, and its progress states are there to be seen.
    pipeline.sample.latency_s = 0.25

    signed_in(page, owner)
    expect(page.get_by_role("heading", level=1)).to_have_text("Live Market")
    expect(page.get_by_test_id("live-status")).to_have_text("Live")
    for brand in brands:
        row = page.locator(f"[data-testid=brand-row][data-brand-id='{brand.pk}']")
        expect(row.locator("[data-stat=total]")).to_have_text("0")
        expect(row.locator("[data-stat=last-run]")).to_contain_text("Never run")
    assert card_ids(page, "latest-ads") == []
    page.evaluate("window.__noReload = 1")
    page.evaluate(RECORD_PROGRESS)

    page.get_by_test_id("refresh-now").click()
    expect(page.get_by_test_id("notifications")).to_contain_text("Refreshing 2 brands")

    # The bar shows up with counted progress while the run is going.
    page.wait_for_function(
        "() => window.__progress.some(s => s.max > 1 && s.value > 0 && s.width > 0)", timeout=60_000
    )
    screenshot(page, "overview-run-in-progress")
    # New ads arrive at the top of "Latest ads", and as a notification.
    expect(page.get_by_test_id("latest-ads").get_by_test_id("ad-card").first).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("notifications")).to_contain_text("new ad")

    runs = wait_for_runs([b.pk for b in brands])
    assert {r.status for r in runs} == {IngestionRun.Status.SUCCEEDED}, [(r.pk, r.status) for r in runs]
    for brand in brands:
        committed = ads_in_db(brand.pk)
        assert committed == pipeline.ads_per_brand
        row = page.locator(f"[data-testid=brand-row][data-brand-id='{brand.pk}']")
        expect(row.locator("[data-stat=total]")).to_have_text(str(committed), timeout=15_000)
        active = Creative.objects.filter(brand=brand, is_active=True).count()
        expect(row.locator("[data-stat=active]")).to_have_text(str(active))
        expect(row.locator("[data-stat=new]")).to_have_text(str(committed))
        expect(row.locator("[data-stat=last-run]")).to_contain_text("Succeeded")

    # Every card that arrived is one of these brands' committed ads, once each.
    arrived = card_ids(page, "latest-ads")
    assert arrived and len(arrived) == len(set(arrived))
    assert set(arrived) <= set(Creative.objects.filter(brand__in=brands).values_list("pk", flat=True))
    assert page.evaluate("window.__noReload") == 1  # all of it without leaving the page

    progress = page.evaluate("window.__progress")
    for brand in brands:
        states = [s for s in progress if s["brand"] == brand.pk]
        counted = [s for s in states if s["value"] is not None and s["max"] > 1]
        # The bar moved: more than one state, the count done never going backwards.
        assert len({(s["value"], s["max"], s["text"]) for s in states}) >= 2, states
        assert counted, states
        assert [s["value"] for s in counted] == sorted(s["value"] for s in counted), counted
        assert all(re.fullmatch(r"[A-Z][a-z ]+( · \d+/\d+)?", s["text"]) for s in states), states
    # With the run over, each row shows its last run and no progress bar.
    for brand in brands:
        row = page.locator(f"[data-testid=brand-row][data-brand-id='{brand.pk}']")
        expect(row.get_by_test_id("run-progress")).to_be_hidden()
    assert page_problems == []


# --- 3. add a competitor by search; a member cannot --------------------------------------------


def test_owner_adds_a_competitor_whose_ads_arrive_with_the_next_run_and_a_member_cannot(
    page, page_problems, pipeline
):
    org = factories.OrganizationFactory()
    owner = factories.member(org, Membership.Role.OWNER)
    member = factories.member(org, Membership.Role.MEMBER)
    space = factories.BrandspaceFactory(organization=org, name="Catalog Market")
    newcomer = factories.BrandFactory(name="Northwind Trail Co", domains=["northwind.example"])
    factories.BrandIdentityFactory(brand=newcomer, source="meta")
    factories.BrandFactory(name="Southwind Kites")  # in the catalog, not a match

    loading = RequestsInFlight(page)
    signed_in(page, owner)
    open_tab(page, "Settings")
    page.get_by_test_id("brand-search").fill("northwind")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_test_id("brand-results")
    expect(results.locator("li")).to_have_count(1)
    result = results.locator(f"li[data-brand-id='{newcomer.pk}']")
    expect(result).to_contain_text("Northwind Trail Co")
    expect(result).to_contain_text("northwind.example")
    result.get_by_role("button", name="Add as competitor").click()

    expect(page.get_by_role("status").filter(has_text="added")).to_have_text(
        "Northwind Trail Co added as a competitor brand. Its ads arrive with the next run."
    )
    tracked = page.get_by_test_id("tracked-brands").locator(f"tr[data-brand-id='{newcomer.pk}']")
    expect(tracked).to_contain_text("competitor")
    assert TrackedBrand.objects.filter(brandspace=space, brand=newcomer, role="competitor").exists()

    open_tab(page, "Overview")
    row = page.locator(f"[data-testid=brand-row][data-brand-id='{newcomer.pk}']")
    expect(row.locator("[data-stat=total]")).to_have_text("0")
    page.get_by_test_id("refresh-now").click()
    [run] = wait_for_runs([newcomer.pk])
    assert run.status == IngestionRun.Status.SUCCEEDED
    committed = ads_in_db(newcomer.pk)
    assert committed == pipeline.ads_per_brand
    expect(row.locator("[data-stat=total]")).to_have_text(str(committed), timeout=15_000)

    loading.wait_until_idle()  # the pictures of the ads that just arrived
    open_tab(page, "Ads")
    page.get_by_test_id("filters").get_by_label("Brand", exact=True).select_option(label="Northwind Trail Co")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"[?&]brand={newcomer.pk}(&|$)"))
    expect(page.get_by_test_id("ad-card")).to_have_count(committed)
    brands_shown = page.get_by_test_id("ad-card").evaluate_all("cards => cards.map(c => c.dataset.brandId)")
    assert set(brands_shown) == {str(newcomer.pk)}
    assert sorted(card_ids(page)) == sorted(
        Creative.objects.filter(brand=newcomer).values_list("pk", flat=True)
    )
    loading.wait_until_idle()

    # A member: everything visible, nothing changeable.
    page.get_by_role("button", name="Sign out").click()
    # Let the sign-out land on the sign-in page before signing in again: a navigation started
    # meanwhile would abort it (Chromium reports that as a failed request).
    expect(page.get_by_role("heading", name="Sign in to Adology")).to_be_visible()
    signed_in(page, member)
    expect(page.get_by_test_id("refresh-now")).to_be_disabled()
    expect(page.get_by_text("Only owners and admins can start a run.")).to_be_visible()
    expect(page.get_by_test_id("live-status")).to_have_text("Live")
    # The button enabled by hand (the disabled state is only the browser's): the server refuses
    # and the page says why.
    page.evaluate("document.querySelector('[data-testid=refresh-now]').disabled = false")
    page.get_by_test_id("refresh-now").click()
    expect(page.get_by_test_id("notifications")).to_contain_text(
        "Only an organization's owners and admins may change this."
    )
    assert IngestionRun.objects.filter(brand=newcomer).count() == 1  # the owner's run only
    refresh_url = f"{pipeline.url}/brandspaces/{space.pk}/refresh"
    refused = refused_problems(refresh_url, 403, "Forbidden", "POST")
    open_tab(page, "Settings")
    expect(page.get_by_test_id("read-only-notice")).to_be_visible()
    fieldsets = page.locator("fieldset.settings-block")
    expect(fieldsets).to_have_count(3)
    assert fieldsets.evaluate_all("sets => sets.map(s => s.disabled)") == [True, True, True]
    expect(page.get_by_test_id("brand-search")).to_be_disabled()
    expect(page.get_by_role("button", name="Remove Northwind Trail Co")).to_be_disabled()
    screenshot(page, "settings-member")

    # The same form sent anyway is refused, politely.
    page.evaluate("document.querySelectorAll('fieldset[disabled]').forEach(f => f.disabled = false)")
    page.get_by_role("button", name="Remove Northwind Trail Co").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Only an organization's owners and admins may change a brandspace."
    )
    expect(
        page.get_by_test_id("tracked-brands").locator(f"tr[data-brand-id='{newcomer.pk}']")
    ).to_be_visible()
    assert TrackedBrand.objects.filter(brandspace=space, brand=newcomer).exists()
    assert page_problems == refused


# --- 4. another organization's brandspace ------------------------------------------------------


def test_another_organizations_brandspace_is_a_404_that_leaks_nothing(page, page_problems):
    mine = factories.OrganizationFactory(name="Our Company")
    me = factories.member(mine, Membership.Role.OWNER)
    my_space = factories.BrandspaceFactory(organization=mine, name="Our Space")
    theirs = factories.BrandspaceFactory(
        organization=factories.OrganizationFactory(name="Quasar Holdings"),
        name="Obsidian Harbor Collective",
        primary_brand__name="Quillfeather Outfitters",
    )
    their_rival = factories.TrackedBrandFactory(
        brandspace=theirs, role="competitor", brand__name="Marrowind Gear"
    ).brand
    their_ad = factories.CreativeFactory(
        brand=theirs.primary_brand, title="Zanzibar launch campaign", body="Vellichor sale"
    )
    secrets = [
        "Obsidian Harbor",
        "Quillfeather",
        "Marrowind",
        "Quasar Holdings",
        "Zanzibar launch",
        "Vellichor",
    ]

    signed_in(page, me)
    urls = [
        f"/brandspaces/{theirs.pk}/",
        f"/brandspaces/{theirs.pk}/ads/",
        f"/brandspaces/{theirs.pk}/ads/?brand={their_rival.pk}",
        f"/brandspaces/{theirs.pk}/ads/{their_ad.pk}/",
        f"/brandspaces/{theirs.pk}/compare/",
        f"/brandspaces/{theirs.pk}/settings/",
        f"/brandspaces/{my_space.pk}/ads/{their_ad.pk}/",  # their ad through my brandspace
    ]
    for url in urls:
        response = page.goto(url)
        assert response.status == 404, url
        expect(page.get_by_test_id("not-found")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
        html = page.content()
        leaked = [s for s in secrets if s.lower() in html.lower()]
        assert leaked == [], f"{url} shows {leaked}"
    # Only the pages themselves answered 404 (Chromium logs each); their stylesheets and
    # scripts loaded.
    origin = re.match(r"https?://[^/]+", page.url).group(0)
    expected = [line for url in urls for line in refused_problems(origin + url)]
    assert page_problems == expected

    # My own explorer, asked for their brand, names none of it either.
    page_problems.clear()
    page.goto(f"/brandspaces/{my_space.pk}/ads/?brand={their_rival.pk}")
    expect(page.get_by_test_id("filter-errors")).to_be_visible()
    html = page.content()
    assert [s for s in secrets if s.lower() in html.lower()] == []
    assert page_problems == []


# --- 5. compare draws from real data -----------------------------------------------------------


def _shown(value: float | None, suffix: str = "") -> str:
    """A number as the page prints it: one decimal at most, none when it is zero."""
    if value is None:
        return "—"
    text = f"{value:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + suffix


def test_compare_tables_and_marks_show_the_numbers_of_the_ads(page, page_problems):
    org = factories.OrganizationFactory()
    owner = factories.member(org, Membership.Role.OWNER)
    space = factories.BrandspaceFactory(organization=org, name="Compared", primary_brand__name="Alder Packs")
    rival = factories.TrackedBrandFactory(
        brandspace=space, role="competitor", brand__name="Birch Boots"
    ).brand
    quiet = factories.TrackedBrandFactory(brandspace=space, role="followed", brand__name="Cedar Caps").brand
    primary = space.primary_brand

    today = timezone.localdate()
    this_monday = today - dt.timedelta(days=today.weekday())
    mondays = [this_monday - dt.timedelta(weeks=n) for n in range(11, -1, -1)]
    now = timezone.now()

    def ad(brand, fmt, *, weeks_ago, active, days, started=True):
        started_on = this_monday - dt.timedelta(weeks=weeks_ago) if started else None
        first_seen = now - dt.timedelta(weeks=weeks_ago) if not started else now
        return factories.CreativeFactory(
            brand=brand,
            format=fmt,
            started_running_on=started_on,
            first_seen_at=first_seen,
            is_active=active,
            days_running=days,
        )

    ads = [
        ad(primary, "image", weeks_ago=0, active=True, days=5),
        ad(primary, "image", weeks_ago=1, active=True, days=12),
        ad(primary, "image", weeks_ago=1, active=True, days=21),
        ad(primary, "video", weeks_ago=3, active=False, days=30),
        # No start date from the source: it counts in the week it was first seen.
        ad(primary, "carousel", weeks_ago=2, active=True, days=8, started=False),
        ad(primary, "text", weeks_ago=20, active=False, days=140),  # before the 12 weeks shown
        ad(rival, "video", weeks_ago=1, active=True, days=3),
        ad(rival, "video", weeks_ago=1, active=True, days=7),
        ad(rival, "image", weeks_ago=5, active=False, days=40),
    ]

    # What the page must say, computed here from the ads themselves.
    def launched_week(creative):
        day = creative.started_running_on or timezone.localtime(creative.first_seen_at).date()
        return day - dt.timedelta(days=day.weekday())

    brands = [primary, rival, quiet]
    mine = {b.pk: [c for c in ads if c.brand_id == b.pk] for b in brands}
    all_active = sum(c.is_active for c in ads)
    expected = {}
    for brand in brands:
        own = mine[brand.pk]
        weeks = [launched_week(c) for c in own]
        active = sum(c.is_active for c in own)
        expected[brand.pk] = {
            "launches": [weeks.count(m) for m in mondays],
            "formats": {f: sum(c.format == f for c in own) for f in ("image", "video", "text", "carousel")},
            "total": len(own),
            "active": active,
            "share": 100 * active / all_active,
            "ratio": 100 * active / len(own) if own else None,
            "median": statistics.median(c.days_running for c in own) if own else None,
        }
    # The fixture is what it means to be: a median between two values, a quiet brand, an ad
    # outside the window and one launched by its first sighting.
    assert expected[primary.pk]["median"] == 16.5
    assert sum(expected[primary.pk]["launches"]) == 5

    signed_in(page, owner)
    page.goto(f"/brandspaces/{space.pk}/compare/")
    expect(page.get_by_role("heading", name="Compare brands")).to_be_visible()
    expect(page.locator(".compare-lede")).to_contain_text(f"{len(ads)} ads ({all_active} active)")

    weeks_shown = page.locator("[data-testid=table-launches] thead th[data-week]").evaluate_all(
        "ths => ths.map(th => th.dataset.week)"
    )
    assert weeks_shown == [m.isoformat() for m in mondays]
    for brand in brands:
        want = expected[brand.pk]
        row = page.locator(f"[data-testid=table-launches] tbody tr[data-brand-id='{brand.pk}']")
        cells = row.locator("td").all_inner_texts()
        assert [int(c) for c in cells] == [*want["launches"], sum(want["launches"])], brand.name

        row = page.locator(f"[data-testid=table-formats] tbody tr[data-brand-id='{brand.pk}']")
        for fmt, count in want["formats"].items():
            cell = row.locator(f"td[data-format={fmt}]").inner_text().strip()
            percent = f" ({_shown(100 * count / want['total'], '%')})" if want["total"] else ""
            assert cell == f"{count}{percent}", (brand.name, fmt)
        assert row.locator("td[data-col=total]").inner_text() == str(want["total"])

        row = page.locator(f"[data-testid=table-active] tbody tr[data-brand-id='{brand.pk}']")
        assert row.locator("td[data-col=active]").inner_text() == str(want["active"])
        assert row.locator("td[data-col=share]").inner_text() == _shown(want["share"], "%")
        assert row.locator("td[data-col=total]").inner_text() == str(want["total"])
        assert row.locator("td[data-col=active-ratio]").inner_text() == _shown(want["ratio"], "%")

        row = page.locator(f"[data-testid=table-median] tbody tr[data-brand-id='{brand.pk}']")
        assert row.locator("td[data-col=median]").inner_text() == _shown(want["median"])

    # The marks carry the same numbers in their titles (what hovering shows).
    def titles(selector):
        return page.locator(selector).evaluate_all(
            "gs => gs.map(g => [g.dataset.brandId, g.dataset.week || g.dataset.format || '', "
            "g.dataset.value, g.querySelector(':scope > title').textContent])"
        )

    points = titles("figure[aria-labelledby=compare-launches-caption] svg g.compare-point")
    assert len(points) == 12 * len(brands)
    for brand_id, week, value, title in points:
        n = expected[int(brand_id)]["launches"][[m.isoformat() for m in mondays].index(week)]
        assert int(value) == n
        assert title.endswith(f": {n} ad{'' if n == 1 else 's'} launched"), title

    for brand in brands:
        want = expected[brand.pk]
        bars = titles(
            f"figure[aria-labelledby=compare-active-caption] svg g.compare-bar[data-brand-id='{brand.pk}']"
        )
        assert [b[3] for b in bars] == [f"{brand.name}: {_shown(want['share'], '%')}"]
        bars = titles(
            f"figure[aria-labelledby=compare-median-caption] svg g.compare-bar[data-brand-id='{brand.pk}']"
        )
        median = "no ads" if want["median"] is None else f"{_shown(want['median'])} days"
        assert [b[3] for b in bars] == [f"{brand.name}: {median}"]
        segments = titles(
            f"figure[aria-labelledby=compare-formats-caption] svg g.compare-bar[data-brand-id='{brand.pk}'] "
            "g.compare-segment"
        )
        assert {s[1]: int(s[2]) for s in segments} == {f: n for f, n in want["formats"].items() if n}
        for _, _format, count, title in segments:
            share = _shown(100 * int(count) / want["total"], "%")
            assert title.endswith(
                f": {count} ad{'' if count == '1' else 's'} of {want['total']} ({share})"
            ), title

    # Hovering a week's point lands on that mark (its title is the tooltip) and enlarges it.
    # (A week where no other brand has the same count: equal points sit on top of each other.)
    week = mondays[-4].isoformat()
    point = page.locator(
        f"figure[aria-labelledby=compare-launches-caption] g.compare-point[data-brand-id='{primary.pk}']"
        f"[data-week='{week}']"
    )
    point.locator("circle.compare-hit").hover()
    hovered = point.evaluate(
        """g => {
          const box = g.querySelector('circle.compare-hit').getBoundingClientRect();
          const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
          return {
            title: hit.closest('g.compare-point')?.querySelector('title').textContent,
            radius: getComputedStyle(g.querySelector('circle')).r,
          };
        }"""
    )
    assert (
        hovered["title"]
        == f"Alder Packs, week of {mondays[-4]:%b} {mondays[-4].day}, {mondays[-4].year}: 1 ad launched"
    )
    assert hovered["radius"] == "5.5px", hovered
    assert page_problems == []


# --- 6. every page at laptop and phone widths ---------------------------------------------------

EXPLORER_ADS = 55  # a full page of 50 cards, and 5 more for the scroll to fetch


def tab_until(page, predicate_js: str, *, start: str | None = None, limit: int = 80) -> list[str]:
    """Presses Tab (from `start`, if given, else from where the focus is) until the focused
    element matches; returns what was focused on the way."""
    if start:
        page.focus(start)
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return {predicate_js}; }}"):
            return seen
        seen.append(page.evaluate("() => document.activeElement.outerHTML.slice(0, 80)"))
    raise AssertionError(f"Tab never reached {predicate_js}; focused on the way:\n" + "\n".join(seen))


def test_every_page_at_laptop_and_phone_width(page, page_problems, media_site):
    org = factories.OrganizationFactory()
    owner = factories.member(org, Membership.Role.OWNER)
    space = factories.BrandspaceFactory(
        organization=org, name="Summit Supply", primary_brand__name="Summit Supply"
    )
    factories.BrandspaceFactory(organization=org, name="Second Market")
    rivals = [
        factories.TrackedBrandFactory(
            brandspace=space, role="competitor", brand__name="Granite Peak Outfitters"
        ).brand,
        factories.TrackedBrandFactory(brandspace=space, role="followed", brand__name="Tidewater Co").brand,
    ]
    brands = [space.primary_brand, *rivals]
    now = timezone.now()
    shapes = [(1080, 1080), (1080, 1350), (1200, 628)]
    ads = []
    for i in range(EXPLORER_ADS):
        brand = brands[i % len(brands)]
        fmt = ["image", "video", "carousel", "text"][i % 4]
        creative = factories.CreativeFactory(
            brand=brand,
            format=fmt,
            title=f"{brand.name} ad {i}: autumn range",
            first_seen_at=now - dt.timedelta(hours=i),
            started_running_on=now.date() - dt.timedelta(days=3 * i),
            days_running=3 * i,
            is_active=i % 3 != 0,
            with_media=0 if fmt == "text" else (3 if fmt == "carousel" else 1),
        )
        width, height = shapes[i % len(shapes)]
        for link in creative.media_links.select_related("media"):
            link.media.width, link.media.height = width // 3, height // 3
            if fmt == "video":
                link.media.mime_type, link.media.thumbnail_key = "video/mp4", link.media.storage_key + ".jpg"
            link.media.save()
        ads.append(creative)
    for creative in ads:
        for link in creative.media_links.select_related("media"):
            media = link.media
            picture = render_image(
                str(creative.brand_id),
                creative.pk % 9,
                media.width,
                media.height,
                "jpg",
                80,
                0,
                creative.title,
            )
            media_site.upload(media.thumbnail_key or media.storage_key, picture)

    too_wide = []  # pages that scroll sideways on a phone, said at the end (after every screenshot)

    # Sign-in page, then the overview.
    page.goto("/login/")
    too_wide.append(shoot(page, "page-sign-in"))
    loading = RequestsInFlight(page)
    signed_in(page, owner)
    page.goto(f"/brandspaces/{space.pk}/")
    expect(page.get_by_test_id("latest-ads").get_by_test_id("ad-card")).to_have_count(12)
    expect(page.get_by_test_id("live-status")).to_have_text("Live")
    too_wide.append(shoot(page, "page-overview"))
    # Keyboard: Tab reaches the switcher, every tab and a card.
    tab_until(page, "el.matches('[data-testid=brandspace-switcher] > summary')", start="a.skip-link")
    page.keyboard.press("Enter")
    expect(
        page.get_by_test_id("brandspace-switcher").get_by_role("link", name="Second Market")
    ).to_be_visible()
    page.keyboard.press("Escape")
    for tab in ("Overview", "Ads", "Compare", "Settings"):
        tab_until(page, f"el.matches('nav.tabs a') && el.textContent.trim() === {tab!r}")
    tab_until(page, "el.matches('[data-testid=latest-ads] a.card-link')")

    loading.wait_until_idle()
    # The explorer: 50 cards that stay where they are while their images arrive.
    held = []
    released = False

    def hold_media(route):
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(f"**/{media_site.bucket}/**", hold_media)
    page.goto(f"/brandspaces/{space.pk}/ads/")
    cards = page.get_by_test_id("ad-grid").get_by_test_id("ad-card")
    expect(cards).to_have_count(50)
    page.wait_for_function("() => document.querySelectorAll('.card img').length > 0")
    deadline = time.monotonic() + 5
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the visible cards asked for no images"
    images = page.locator(".card img")
    assert images.evaluate_all("imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length") == 0
    # Each image says its size, and its box keeps one shape whatever the picture's.
    sizes = images.evaluate_all(
        "imgs => imgs.map(i => [i.getAttribute('width'), i.getAttribute('height'), i.loading])"
    )
    assert all(w and h and int(w) > 0 and int(h) > 0 and lazy == "lazy" for w, h, lazy in sizes), sizes
    ratios = page.locator(".card .thumb").evaluate_all(
        "boxes => boxes.map(b => b.getBoundingClientRect()).map(r => Math.round(100 * r.width / r.height))"
    )
    assert set(ratios) == {133}, ratios
    where = """cards => cards.slice(0, 50).map(c => {
        const r = c.getBoundingClientRect();
        return [c.dataset.creativeId, r.x, r.y + scrollY, r.width, r.height].map(v => Math.round(v));
    })"""
    before = cards.evaluate_all(where)
    released = True
    for route in held:
        route.continue_()
    page.evaluate("document.querySelectorAll('.card img').forEach(i => { i.loading = 'eager'; })")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)",
        timeout=20_000,
    )
    assert cards.evaluate_all(where) == before  # not one card moved
    too_wide.append(shoot(page, "page-explorer"))

    # Scrolling to the end fetches the next page of cards (cursor paging).
    page.get_by_test_id("load-more").scroll_into_view_if_needed()
    expect(cards).to_have_count(EXPLORER_ADS)
    expect(page.get_by_test_id("load-more")).to_have_count(0)
    assert sorted(card_ids(page)) == sorted(c.pk for c in ads)
    tab_until(page, "el.matches('[data-testid=ad-grid] a.card-link')", start="a.skip-link", limit=60)

    loading.wait_until_idle()  # the last cards' pictures

    # An ad with its pictures.
    carousel = next(c for c in ads if c.format == "carousel")
    page.goto(f"/brandspaces/{space.pk}/ads/{carousel.pk}/")
    pictures = page.get_by_test_id("ad-image")
    expect(pictures).to_have_count(3)
    for picture in pictures.all():
        picture.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=ad-image]')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    expect(page.get_by_test_id("analysis")).to_contain_text("Not analysed yet")
    too_wide.append(shoot(page, "page-ad-detail"))

    page.goto(f"/brandspaces/{space.pk}/compare/")
    expect(page.locator("[data-testid=table-median] tbody tr")).to_have_count(3)
    too_wide.append(shoot(page, "page-compare"))

    page.goto(f"/brandspaces/{space.pk}/settings/?q=a")
    expect(page.get_by_test_id("tracked-brands").locator("tbody tr")).to_have_count(3)
    too_wide.append(shoot(page, "page-settings"))
    assert page_problems == []

    page.goto("/brandspaces/999999999/")
    expect(page.get_by_test_id("not-found")).to_be_visible()
    too_wide.append(shoot(page, "page-404"))
    assert page_problems == refused_problems(f"{media_site.server.url}/brandspaces/999999999/")
    assert [problem for problem in too_wide if problem] == []
