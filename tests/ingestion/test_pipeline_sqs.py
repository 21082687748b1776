"""The pipeline on real Celery workers with SQS (moto) as the broker and S3 (moto) as the archive.

Slow by nature (real processes, real polling), so only what needs a real broker is here:
a full run through every queue, and a worker SIGKILLed mid-acquire.
"""

from __future__ import annotations

import time
import uuid

import boto3
import pytest
from celery import Celery

import celeryconfig
from brands.models import Creative, CreativeMedia, CreativeMediaLink
from ingestion.models import IngestionRun, RunItem
from ingestion.queues import ensure_queues
from ingestion.sources.sample import SAMPLE_ACCESS_TOKEN, start_sample_server
from tests.ingestion.conftest import s3_keys
from tests.servers import BusEvents, database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUEUES = "gather,acquire,commit,ai"


@pytest.fixture
def pipeline_env(sqs_broker_env, moto_server, mongo_url):
    bucket = f"adology-sqs-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    server, base_url = start_sample_server(ads_per_brand=18, page_size=6, latency_s=0.15)
    env = {
        **sqs_broker_env,
        "SQS_QUEUE_PREFIX": f"p{uuid.uuid4().hex[:8]}-",
        "SQS_VISIBILITY_TIMEOUT": "6",
        "DATABASE_URL": database_url(),
        "MONGO_URL": mongo_url,
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "META_GRAPH_URL": base_url,
        "META_ACCESS_TOKEN": SAMPLE_ACCESS_TOKEN,
        "ACQUIRE_BATCH_SIZE": "4",
        "ACQUIRE_CONCURRENCY": "4",
        "COMMIT_RECHECK_SECONDS": "1",
    }
    ensure_queues(environ=env)
    client = Celery("adology-test-client", set_as_current=False)
    client.config_from_object("celeryconfig")
    client.conf.update(celeryconfig.env_settings(env))
    yield {"env": env, "client": client, "server": server, "bucket": bucket}
    server.stop()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _finished(run: IngestionRun) -> bool:
    run.refresh_from_db()
    return not run.is_active


def _assert_committed_exactly_once(run, brand, moto_server, bucket):
    assert run.status == IngestionRun.Status.SUCCEEDED, run.failure_reason
    assert Creative.objects.filter(brand=brand).count() == 18
    assert run.creatives_committed == 18
    items = RunItem.objects.filter(run=run)
    assert items.filter(status="acquired").count() == items.count() == run.items_acquired
    assert CreativeMedia.objects.count() == len({i.sha256 for i in items})
    assert CreativeMediaLink.objects.count() == items.count()
    assert {m.storage_key for m in CreativeMedia.objects.all()} == set(s3_keys(moto_server, bucket))


def test_full_run_through_every_queue_on_sqs(pipeline_env, tracked_world, celery_worker, moto_server):
    worker = celery_worker.start(pipeline_env["env"], queues=QUEUES, pool="threads", concurrency=4)
    run = IngestionRun.objects.create(brand=tracked_world["brand"], source="meta")
    with BusEvents(pipeline_env["env"]["CELERY_EVENTS_URL"]) as bus:
        pipeline_env["client"].send_task("ingestion.gather", args=[run.pk])
        _wait_for(lambda: _finished(run), 90, "the run to finish")
        time.sleep(1)  # the last task-succeeded events follow the run's final state
    # What Flower shows ops: every phase's tasks succeeding on a worker whose broker is SQS.
    succeeded = {e.get("uuid") for e in bus.events if e["type"] == "task-succeeded"}
    names = {e.get("name") for e in bus.events if e["type"] == "task-received" and e.get("uuid") in succeeded}
    assert {
        "ingestion.gather",
        "ingestion.acquire_batch",
        "ingestion.commit_run",
        "ingestion.ai_phase",
    } <= names
    _assert_committed_exactly_once(run, tracked_world["brand"], moto_server, pipeline_env["bucket"])
    log = worker.output
    for name in ("ingestion.gather", "ingestion.acquire_batch", "ingestion.commit_run", "ingestion.ai_phase"):
        assert f"Task {name}[" in log and "succeeded" in log, name
    assert log.count("Task ingestion.commit_run[") >= 1
    assert log.count("run committed") == 1


def test_worker_killed_mid_acquire_loses_nothing_and_duplicates_nothing(
    pipeline_env, tracked_world, celery_worker, moto_server
):
    env = pipeline_env["env"]
    first = celery_worker.start(env, queues=QUEUES, pool="prefork", concurrency=2)
    run = IngestionRun.objects.create(brand=tracked_world["brand"], source="meta")
    pipeline_env["client"].send_task("ingestion.gather", args=[run.pk])

    def some_acquired():
        return RunItem.objects.filter(run=run, status="acquired").exists()

    _wait_for(some_acquired, 60, "the first items to be acquired")
    first.kill()  # SIGKILL the worker and its pool: unacked messages return after the visibility timeout
    run.refresh_from_db()
    assert run.is_active and RunItem.objects.filter(run=run, status="pending").exists()

    celery_worker.start(env, queues=QUEUES, pool="prefork", concurrency=2)
    _wait_for(lambda: _finished(run), 120, "the run to finish after redelivery")
    _assert_committed_exactly_once(run, tracked_world["brand"], moto_server, pipeline_env["bucket"])
