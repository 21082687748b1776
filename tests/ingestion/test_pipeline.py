"""The pipeline end to end (tasks in-process), and its promises under redelivery."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from adology import mongo
from brands.models import Creative, CreativeMedia, CreativeMediaLink
from ingestion import services, tasks
from ingestion.models import IngestionRun, RunItem
from ingestion.sources.sample import SampleServer
from tests.ingestion.conftest import s3_keys


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _ingest(world, **body):
    response = _client(world["owner"]).post(
        f"/api/brandspaces/{world['brandspace'].pk}/ingest", body or {"sources": ["meta"]}, format="json"
    )
    assert response.status_code == 202, response.content
    return response.json()["runs"]


def _mongo_count(name: str, **query) -> int:
    return mongo.collection(name).count_documents(query)


class RepeatingServer(SampleServer):
    """A library that lists some ads again on a later page (as when new ads arrive mid-paging)."""

    def ads_for(self, owner_id):
        ads = super().ads_for(owner_id)
        return ads + ads[:4]


def test_full_run_commits_each_ad_once_with_media_once_in_s3(pipeline, tracked_world, moto_server, s3_bucket):
    server = RepeatingServer(("127.0.0.1", 0), ads_per_brand=18, page_size=8)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pipeline.META_GRAPH_URL = server.base_url
    try:
        [summary] = _ingest(tracked_world)
    finally:
        server.stop()

    run = IngestionRun.objects.get(pk=summary["id"])
    assert run.status == IngestionRun.Status.SUCCEEDED, run.failure_reason
    graph_pages = [q for path, q in server.requests if path.endswith("/ads_archive")]
    assert len(graph_pages) == 3  # 22 listings at 8 a page

    creatives = Creative.objects.filter(brand=tracked_world["brand"], source="meta")
    assert creatives.count() == 18  # the 4 repeated listings did not duplicate
    distinct_urls = {i.url for i in RunItem.objects.filter(run=run)}
    media = CreativeMedia.objects.all()
    # The "same image" variants share a URL and the re-encoded near-duplicates differ in bytes.
    assert media.count() == len(distinct_urls)
    assert len({m.sha256 for m in media}) == media.count()
    stored = set(s3_keys(moto_server, s3_bucket))
    assert {m.storage_key for m in media} == stored  # each file once, nothing orphaned
    assert all(m.width and m.height and m.perceptual_hash and m.embedding for m in media)

    text_only = creatives.filter(format="text")
    assert text_only.exists() and not CreativeMediaLink.objects.filter(creative__in=text_only).exists()
    carousel = creatives.filter(format="carousel").first()
    assert carousel.media.count() == 3

    assert run.items_failed == 0 and run.creatives_committed == 18
    assert run.gathering_at <= run.acquiring_at <= run.committing_at <= run.analyzing_at <= run.finished_at
    assert _mongo_count(mongo.RAW_ADS, brand_id=tracked_world["brand"].pk) == 18
    # One analysis per new creative, with the local provider's honest label.
    assert _mongo_count(mongo.ANALYSES, run_id=run.pk) == 18
    doc = mongo.collection(mongo.ANALYSES).find_one({"creative_id": carousel.pk})
    assert doc["provider"] == "local" and "image" in doc and "limitations" in doc


def test_redelivered_acquire_and_commit_do_not_duplicate(pipeline, tracked_world):
    run = IngestionRun.objects.create(brand=tracked_world["brand"], source="meta")
    batches = services.gather_run(run_id=run.pk)  # the gather message, handled by hand
    assert batches and sum(map(len, batches)) == RunItem.objects.filter(run=run).count()

    for batch in batches:
        tasks.acquire_batch.apply(args=(run.pk, batch))
    tasks.acquire_batch.apply(args=(run.pk, batches[0]))  # SQS delivered one batch twice
    assert RunItem.objects.filter(run=run, status="pending").count() == 0

    assert tasks.commit_run.apply(args=(run.pk,)).get() is True
    creatives_after_first = Creative.objects.count()
    links_after_first = CreativeMediaLink.objects.count()
    assert tasks.commit_run.apply(args=(run.pk,)).get() is False  # the commit message again
    assert Creative.objects.count() == creatives_after_first
    assert CreativeMediaLink.objects.count() == links_after_first

    run.refresh_from_db()
    assert run.status == IngestionRun.Status.SUCCEEDED  # ai_phase ran, once, after the first commit
    analyses = _mongo_count(mongo.ANALYSES, run_id=run.pk)
    assert tasks.ai_phase.apply(args=(run.pk,)).get() is False
    assert _mongo_count(mongo.ANALYSES, run_id=run.pk) == analyses == creatives_after_first


def test_redelivered_gather_after_chord_started_relaunches_safely(pipeline, tracked_world):
    run = IngestionRun.objects.create(brand=tracked_world["brand"], source="meta")
    first = services.gather_run(run_id=run.pk)
    again = services.gather_run(run_id=run.pk)  # redelivered: same pending items, no new rows
    assert first == again
    tasks.gather.apply(args=(run.pk,))
    run.refresh_from_db()
    assert run.status == IngestionRun.Status.SUCCEEDED
    assert Creative.objects.filter(brand=tracked_world["brand"]).count() == 18


def test_second_run_marks_archived_ads_seen_without_downloading(pipeline, tracked_world, sample_server):
    _ingest(tracked_world)
    media_requests = sum(1 for path, _ in sample_server.requests if path.startswith("/media/"))
    [summary] = _ingest(tracked_world)
    run = IngestionRun.objects.get(pk=summary["id"])
    assert run.status == IngestionRun.Status.SUCCEEDED
    assert run.items_expected == 0  # everything was archived and unchanged
    assert sum(1 for path, _ in sample_server.requests if path.startswith("/media/")) == media_requests
    assert Creative.objects.filter(brand=tracked_world["brand"]).count() == 18


def test_failing_media_end_partial_with_reasons_and_the_rest_committed(
    pipeline, tracked_world, sample_server
):
    from ingestion.sources.sample import sample_ads

    ads = sample_ads("200000000000001", count=18)
    image_paths = sorted({path for ad in ads if ad.kind == "original" for path in ad.media})
    sample_server.faults.media[image_paths[0]] = "404"
    sample_server.faults.media[image_paths[1]] = "timeout"
    sample_server.faults.media[image_paths[2]] = "html"
    sample_server.faults.timeout_s = 3
    pipeline.MEDIA_MAX_IMAGE_BYTES = 2_000_000
    carousel_png = next(p for ad in ads if ad.kind == "carousel" for p in ad.media)
    sample_server.faults.media[carousel_png] = "big"
    sample_server.faults.big_bytes = 3_000_000

    [summary] = _ingest(tracked_world)
    run = IngestionRun.objects.get(pk=summary["id"])
    assert run.status == IngestionRun.Status.PARTIAL
    failed_items = list(run.items.filter(status="failed"))
    failed = {
        i.url.split("?")[0].removeprefix(sample_server.base_url): i.failure_reason for i in failed_items
    }
    assert "404" in failed[image_paths[0]]
    assert "timed out" in failed[image_paths[1]]
    assert "not an image or video" in failed[image_paths[2]]
    assert "limit" in failed[carousel_png]
    assert len(failed) == 4  # four bad URLs; some ads share one, so more items failed
    assert run.items_failed == len(failed_items) >= 4
    assert run.items_acquired == run.items_expected - run.items_failed > 0
    assert Creative.objects.filter(brand=tracked_world["brand"]).count() == 18

    detail = _client(tracked_world["owner"]).get(f"/api/ingestion-runs/{run.pk}/").json()
    assert detail["status"] == "partial" and detail["counters"]["failed"] == run.items_failed
    assert {f["reason"] for f in detail["failures"]} == set(failed.values())


def test_rate_limits_from_each_source_are_waited_out(pipeline, tracked_world, sample_server):
    sample_server.faults.inject_graph_error(code=17, times=2, skip=1)
    sample_server.faults.inject_serpapi_status(429, times=2)
    runs = _ingest(tracked_world, sources=["meta", "google"])
    assert {r["source"] for r in runs} == {"meta", "google"}
    for summary in runs:
        run = IngestionRun.objects.get(pk=summary["id"])
        assert run.status == IngestionRun.Status.SUCCEEDED, (run.source, run.failure_reason)
    assert Creative.objects.filter(brand=tracked_world["brand"], source="google").exists()


def test_rejected_token_fails_the_run_with_the_reason(pipeline, tracked_world):
    pipeline.META_ACCESS_TOKEN = "wrong"
    [summary] = _ingest(tracked_world)
    run = IngestionRun.objects.get(pk=summary["id"])
    assert run.status == IngestionRun.Status.FAILED
    assert "190" in run.failure_reason or "token" in run.failure_reason.lower()
    assert not Creative.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_ingest_requests_make_one_run(tracked_world, settings):
    # Runs are only queued here (memory broker); the partial unique index is what decides.
    barrier = threading.Barrier(20)
    answers: list[int] = []
    errors: list[BaseException] = []

    def request():
        try:
            barrier.wait()
            response = _client(tracked_world["owner"]).post(
                f"/api/brandspaces/{tracked_world['brandspace'].pk}/ingest",
                {"sources": ["meta"]},
                format="json",
            )
            answers.append((response.status_code, response.json()["runs"][0]["id"]))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert {status for status, _ in answers} == {202}
    assert len({run_id for _, run_id in answers}) == 1
    assert IngestionRun.objects.filter(brand=tracked_world["brand"], source="meta").count() == 1


def test_customer_feed_is_ingested_like_any_source(pipeline, tracked_world, sample_server):
    from django.core.files.uploadedfile import SimpleUploadedFile

    brand = tracked_world["brand"]
    image = f"{sample_server.base_url}/media/feedowner/m3-640x640-q80.jpg"
    feed = (
        "brand,ad_id,media_url,text,title,start_date,platform\n"
        f"{brand.slug},spring-1,{image},Spring sale: 20% off tents,Spring sale,2026-10-01,facebook\n"
        f"{brand.slug},spring-2,,Free shipping on every order,Shipping,2026-10-02,instagram\n"
        f"{brand.slug},,{image},missing id,,2026-10-01,facebook\n"
    )
    response = _client(tracked_world["owner"]).post(
        f"/api/brandspaces/{tracked_world['brandspace'].pk}/feeds/",
        {"file": SimpleUploadedFile("ads.csv", feed.encode(), content_type="text/csv")},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    assert [e["line"] for e in response.json()["errors"]] == [4]
    run = IngestionRun.objects.get(pk=response.json()["runs"][0]["id"])
    assert run.status == IngestionRun.Status.SUCCEEDED, run.failure_reason
    creatives = {c.source_ad_id: c for c in Creative.objects.filter(brand=brand, source="feed")}
    assert set(creatives) == {"spring-1", "spring-2"}
    assert creatives["spring-1"].media.get().width == 640
    assert creatives["spring-2"].format == "text" and creatives["spring-2"].platforms == ["instagram"]
    assert _mongo_count(mongo.RAW_ADS, source="feed") == 2
    doc = mongo.collection(mongo.ANALYSES).find_one({"creative_id": creatives["spring-1"].pk})
    assert doc["text"]["has_discount"] is True
