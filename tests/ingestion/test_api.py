"""The ingestion API: starting runs, idempotency, tenancy, feeds, cancel; beat's scheduler and reaper."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from brands.models import Membership
from ingestion import services
from ingestion.models import IngestionRun, RunAd, RunItem
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, owner, brandspace):
    primary = brandspace.primary_brand
    factories.BrandIdentityFactory(brand=primary, source="meta")
    factories.BrandIdentityFactory(brand=primary, source="google", external_id="AR1")
    competitor = brandspace.tracked.get(role="competitor").brand
    factories.BrandIdentityFactory(brand=competitor, source="meta")
    return {"space": brandspace, "primary": primary, "competitor": competitor, "owner": owner}


def ingest(client, space_id, body=None, **headers):
    return client.post(f"/api/brandspaces/{space_id}/ingest", body or {}, format="json", **headers)


def test_ingest_starts_a_run_per_brand_and_source_with_an_identity(client_for, world):
    response = ingest(client_for(world["owner"]), world["space"].pk)
    assert response.status_code == 202
    runs = response.json()["runs"]
    assert {(r["brand"]["id"], r["source"]) for r in runs} == {
        (world["primary"].pk, "meta"),
        (world["primary"].pk, "google"),
        (world["competitor"].pk, "meta"),
    }
    assert {r["status"] for r in runs} == {"queued"}
    assert IngestionRun.objects.count() == 3


def test_repeat_request_returns_the_active_run(client_for, world):
    body = {"brands": [world["primary"].pk], "sources": ["meta"]}
    first = ingest(client_for(world["owner"]), world["space"].pk, body).json()["runs"]
    second = ingest(client_for(world["owner"]), world["space"].pk, body).json()["runs"]
    assert first == second
    assert IngestionRun.objects.count() == 1


def test_idempotency_key_returns_the_same_runs_even_after_they_end(client_for, world):
    client = client_for(world["owner"])
    body = {"brands": [world["primary"].pk], "sources": ["meta"]}
    first = ingest(client, world["space"].pk, body, HTTP_IDEMPOTENCY_KEY="abc").json()["runs"]
    IngestionRun.objects.update(status="succeeded", finished_at=timezone.now())
    again = ingest(client, world["space"].pk, body, HTTP_IDEMPOTENCY_KEY="abc").json()["runs"]
    assert [r["id"] for r in again] == [r["id"] for r in first]
    assert IngestionRun.objects.count() == 1
    fresh = ingest(client, world["space"].pk, body, HTTP_IDEMPOTENCY_KEY="def").json()["runs"]
    assert fresh[0]["id"] != first[0]["id"]


def test_idempotency_key_reused_for_another_brandspace_is_refused(client_for, world, org):
    other = factories.BrandspaceFactory(organization=org)
    factories.BrandIdentityFactory(brand=other.primary_brand, source="meta")
    client = client_for(world["owner"])
    ingest(client, world["space"].pk, HTTP_IDEMPOTENCY_KEY="k1")
    response = ingest(client, other.pk, HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["detail"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"brands": [999999]}, "brands"),
        ({"sources": ["tiktok"]}, "sources"),
        ({"brands": ["x"]}, "brands"),
    ],
)
def test_bad_ingest_input_answers_400_and_writes_nothing(client_for, world, body, field):
    response = ingest(client_for(world["owner"]), world["space"].pk, body)
    assert response.status_code == 400
    assert field in response.json()["error"]["detail"]
    assert IngestionRun.objects.count() == 0


def test_brand_not_tracked_in_this_brandspace_is_refused(client_for, world):
    stranger = factories.BrandFactory()
    factories.BrandIdentityFactory(brand=stranger, source="meta")
    response = ingest(client_for(world["owner"]), world["space"].pk, {"brands": [stranger.pk]})
    assert response.status_code == 400
    assert "not in this brandspace" in response.json()["error"]["message"]
    assert IngestionRun.objects.count() == 0


def test_brands_without_identities_get_a_clear_error(client_for, org, owner):
    space = factories.BrandspaceFactory(organization=org)
    response = ingest(client_for(owner), space.pk)
    assert response.status_code == 400
    assert "identity" in response.json()["error"]["message"]


def test_other_organizations_brandspace_and_unknown_ids_are_404(client_for, world):
    outsider = factories.member(factories.OrganizationFactory(), Membership.Role.OWNER)
    assert ingest(client_for(outsider), world["space"].pk).status_code == 404
    assert ingest(client_for(world["owner"]), 987654).status_code == 404
    assert IngestionRun.objects.count() == 0


def test_members_cannot_start_runs(client_for, world, member):
    assert ingest(client_for(member), world["space"].pk).status_code == 403
    assert IngestionRun.objects.count() == 0


def test_run_detail_is_visible_only_to_organizations_tracking_the_brand(client_for, world, member):
    run = factories.IngestionRunFactory(brand=world["competitor"])
    ad = RunAd.objects.create(run=run, source_ad_id="1", record={})
    RunItem.objects.create(
        run=run,
        ad=ad,
        position=0,
        url="https://x.example/a.jpg",
        status="failed",
        failure_reason="HTTP 404 from the media host",
    )
    detail = client_for(member).get(f"/api/ingestion-runs/{run.pk}/")
    assert detail.status_code == 200
    body = detail.json()
    assert body["status"] == "queued" and body["brand"]["id"] == world["competitor"].pk
    assert body["failures"] == [
        {
            "item": ad.items.get().pk,
            "url": "https://x.example/a.jpg",
            "reason": "HTTP 404 from the media host",
        }
    ]
    assert set(body["timings"]) >= {"queued_at", "finished_at", "duration_seconds"}

    outsider = factories.member(factories.OrganizationFactory())
    assert client_for(outsider).get(f"/api/ingestion-runs/{run.pk}/").status_code == 404


def test_cancel(client_for, world, member):
    run = factories.IngestionRunFactory(brand=world["primary"])
    assert client_for(member).post(f"/api/ingestion-runs/{run.pk}/cancel").status_code == 403
    response = client_for(world["owner"]).post(f"/api/ingestion-runs/{run.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    run.refresh_from_db()
    assert run.finished_at and "cancelled by" in run.failure_reason
    again = client_for(world["owner"]).post(f"/api/ingestion-runs/{run.pk}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"
    # A cancelled run frees the brand for a new one.
    assert services.run_start(brand=world["primary"], source="meta")[1] is True


def test_a_cancelled_run_is_left_alone_by_its_remaining_messages(world):
    run = factories.IngestionRunFactory(brand=world["primary"], status="cancelled")
    assert services.gather_run(run_id=run.pk) is None
    assert services.commit_run(run_id=run.pk) is False
    assert services.ai_phase(run_id=run.pk) is False
    run.refresh_from_db()
    assert run.status == "cancelled"


CSV_FEED = (
    "brand,ad_id,media_url,text,start_date,platform\n"
    "{slug},f1,https://cdn.example/1.jpg,Spring sale,2026-10-01,facebook\n"
    "{slug},,https://cdn.example/2.jpg,No id,2026-10-01,facebook\n"
    "{slug},f3,ftp://cdn.example/3.jpg,Bad scheme,2026-10-01,facebook\n"
    "{slug},f4,,Text only ad,2026-13-01,facebook\n"
    "unknown-brand,f5,https://cdn.example/5.jpg,Who,2026-10-01,facebook\n"
)


def upload(client, space_id, content: str, name="feed.csv"):
    return client.post(
        f"/api/brandspaces/{space_id}/feeds/",
        {"file": SimpleUploadedFile(name, content.encode(), content_type="text/csv")},
        format="multipart",
    )


def test_feed_reports_bad_rows_by_line_and_stages_the_good_ones(client_for, world):
    response = upload(
        client_for(world["owner"]), world["space"].pk, CSV_FEED.format(slug=world["primary"].slug)
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["rows_accepted"] == 1
    lines = {e["line"] for e in body["errors"]}
    assert {3, 4, 5} <= lines
    assert any("unknown-brand" in e["message"] for e in body["errors"])
    [run] = body["runs"]
    assert run["source"] == "feed"
    assert list(RunAd.objects.values_list("source_ad_id", flat=True)) == ["f1"]


def test_feed_with_no_good_row_answers_400_and_writes_nothing(client_for, world):
    bad = "brand,ad_id,media_url\n{slug},,https://cdn.example/2.jpg\n".format(slug=world["primary"].slug)
    response = upload(client_for(world["owner"]), world["space"].pk, bad)
    assert response.status_code == 400
    assert response.json()["error"]["detail"]["rows"][0]["line"] == 2
    assert IngestionRun.objects.count() == 0 and RunAd.objects.count() == 0


def test_feed_missing_a_required_column_is_refused_whole(client_for, world):
    response = upload(client_for(world["owner"]), world["space"].pk, "ad_id,text\n1,hello\n")
    assert response.status_code == 400
    assert "brand" in response.json()["error"]["message"]
    assert IngestionRun.objects.count() == 0


def test_feed_without_a_file_is_refused(client_for, world):
    response = client_for(world["owner"]).post(
        f"/api/brandspaces/{world['space'].pk}/feeds/", {}, format="multipart"
    )
    assert response.status_code == 400 and "file" in response.json()["error"]["detail"]


def test_scheduler_starts_one_run_per_tracked_brand_and_source_once(world):
    untracked = factories.BrandFactory()
    factories.BrandIdentityFactory(brand=untracked, source="meta")
    assert services.schedule_tracked_brands() == 3
    assert services.schedule_tracked_brands() == 0  # the runs are still active
    assert not IngestionRun.objects.filter(brand=untracked).exists()


def test_reaper_fails_runs_stuck_before_acquiring_with_the_reason(world, settings):
    settings.RUN_STUCK_AFTER_SECONDS = 60
    stuck = factories.IngestionRunFactory(brand=world["primary"], status="gathering")
    fresh = factories.IngestionRunFactory(brand=world["competitor"], status="gathering")
    IngestionRun.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=10))
    assert services.reap_stuck_runs() == [stuck.pk]
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.status == "failed" and "stuck in gathering" in stuck.failure_reason
    assert fresh.status == "gathering"


def test_one_active_run_per_brand_and_source_is_a_database_rule(world):
    from django.db import IntegrityError, transaction

    IngestionRun.objects.create(brand=world["primary"], source="meta")
    with pytest.raises(IntegrityError), transaction.atomic():
        IngestionRun.objects.create(brand=world["primary"], source="meta")
    IngestionRun.objects.create(brand=world["primary"], source="google")  # another source is fine
