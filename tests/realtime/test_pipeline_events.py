"""Test 3: a full ingestion on real Celery workers over SQS (moto), started by the API of a real
ASGI server, told to a WebSocket client in order: run.queued, run.progress with non-decreasing
counts, run.committed, creative.new for each new ad, run.finished.

run.queued comes from the web process (the one that created the run); everything else from
the workers' processes: both broadcast through the same Redis channel layer.
"""

from __future__ import annotations

import uuid

import boto3
import httpx
import pytest

from brands.models import Creative
from ingestion.models import IngestionRun
from ingestion.queues import ensure_queues
from ingestion.sources.sample import SAMPLE_ACCESS_TOKEN, start_sample_server
from tests.ingestion.conftest import tracked_world  # noqa: F401 (fixture)
from tests.realtime.conftest import AsgiServer, Socket, server_env, token_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUEUES = "gather,acquire,commit,ai"
ADS = 18


@pytest.fixture
def pipeline_env(sqs_broker_env, moto_server, mongo_url):
    bucket = f"adology-rt-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    sample, base_url = start_sample_server(ads_per_brand=ADS, page_size=6, latency_s=0.05)
    env = server_env(
        {
            key: value
            for key, value in {
                **sqs_broker_env,
                "SQS_QUEUE_PREFIX": f"r{uuid.uuid4().hex[:8]}-",
                "SQS_VISIBILITY_TIMEOUT": "6",
                "MONGO_URL": mongo_url,
                "AWS_STORAGE_BUCKET_NAME": bucket,
                "META_GRAPH_URL": base_url,
                "META_ACCESS_TOKEN": SAMPLE_ACCESS_TOKEN,
                "ACQUIRE_BATCH_SIZE": "3",
                "ACQUIRE_CONCURRENCY": "4",
                "COMMIT_RECHECK_SECONDS": "1",
                "REALTIME_PROGRESS_INTERVAL_SECONDS": "0.1",
            }.items()
            # server_env decides these: the test settings on the pytest test database
            if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
        }
    )
    ensure_queues(environ=env)
    yield env
    sample.stop()


def test_full_ingestion_on_sqs_is_told_in_order(pipeline_env, tracked_world, celery_worker):  # noqa: F811
    celery_worker.start(pipeline_env, queues=QUEUES, pool="threads", concurrency=4)
    server = AsgiServer(pipeline_env)
    try:
        token = token_for(tracked_world["owner"])
        socket = Socket(f"{server.ws_url}?token={token}")
        space = tracked_world["brandspace"]
        assert socket.recv()["type"] == "snapshot"

        response = httpx.post(
            f"{server.url}/api/brandspaces/{space.pk}/ingest",
            json={"sources": ["meta"]},
            headers={"Authorization": f"Token {token}"},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        [run] = response.json()["runs"]

        finished = socket.recv_until(lambda f: f["type"] == "run.finished", timeout=120)
        socket.quiet_for(1.0)  # analysis.ready follows the run's end
        socket.close()
    except Exception as exc:
        raise AssertionError(f"server log:\n{server.output[-4000:]}") from exc
    finally:
        server.stop()

    frames = [f for f in socket.frames if f["type"] != "snapshot"]
    assert {f["brandspace"] for f in frames} == {space.pk}
    about_run = [f for f in frames if f["payload"].get("run") == run["id"]]
    kinds = [f["type"] for f in about_run]
    # The order a user sees: queued, progress..., committed, each new ad, finished (then analysis).
    first = {kind: kinds.index(kind) for kind in reversed(kinds)}
    last = {kind: len(kinds) - 1 - kinds[::-1].index(kind) for kind in kinds}
    assert kinds[0] == "run.queued" and kinds.count("run.queued") == 1
    assert last["run.progress"] < first["run.committed"] == last["run.committed"]
    assert last["run.committed"] < first["creative.new"] and last["creative.new"] < first["run.finished"]
    assert kinds[-1] == "analysis.ready" and kinds.count("run.finished") == 1

    progress = [f["payload"] for f in about_run if f["type"] == "run.progress"]
    stages = [p["stage"] for p in progress]
    assert stages[0] == "gathering" and "acquiring" in stages
    done = [(p["done"] + p["failed"]) for p in progress]
    assert done == sorted(done)
    assert progress[-1]["done"] == progress[-1]["total"] > 0  # the final state before the commit

    new_ids = sorted(f["payload"]["id"] for f in about_run if f["type"] == "creative.new")
    assert new_ids == sorted(
        Creative.objects.filter(brand=tracked_world["brand"]).values_list("pk", flat=True)
    )
    assert len(new_ids) == ADS
    assert {f["payload"]["role"] for f in about_run} == {"primary"}
    new = [f["payload"] for f in about_run if f["type"] == "creative.new"]
    # Every ad with a picture shows it; text-only ads have none.
    assert {p["format"] for p in new if p["thumbnail_url"]} >= {"image"}
    assert all(p["thumbnail_url"] for p in new if p["format"] in ("image", "carousel"))
    assert all(p["thumbnail_url"] is None for p in new if p["format"] == "text")
    assert finished["payload"]["outcome"] == "succeeded"
    assert IngestionRun.objects.get(pk=run["id"]).status == "succeeded"
